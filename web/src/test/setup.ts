import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach, vi } from 'vitest';
import { notifications } from '@mantine/notifications';
import '../i18n';

// Pages are lazy chunks (AppRoutes.tsx): the first render of a route imports and transforms its
// module, which on a busy 2-core machine can take longer than findBy*'s default second.
configure({ asyncUtilTimeout: 5000 });

// jsdom lacks a few browser APIs Mantine relies on.
Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: vi.fn().mockImplementation((query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: vi.fn(),
    removeListener: vi.fn(),
    addEventListener: vi.fn(),
    removeEventListener: vi.fn(),
    dispatchEvent: vi.fn(),
  })),
});

class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
window.ResizeObserver = ResizeObserverStub;
window.HTMLElement.prototype.scrollIntoView = () => {};
Object.defineProperty(window, 'scrollTo', { value: () => {}, writable: true });
Object.defineProperty(document, 'fonts', { value: { addEventListener: () => {}, removeEventListener: () => {} }, configurable: true });

afterEach(() => {
  cleanup();
  // Mantine keeps notifications in a module-level store; one test's toasts must not leak into the next.
  notifications.clean();
  sessionStorage.clear();
  localStorage.clear();
});

// Data arrives from (fake) fetches after the test's own act() scopes; React's act() warnings
// about those updates are noise here, everything else still reaches the console.
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('not wrapped in act(')) return;
  consoleError(...args);
};
