import { act, render, screen } from '@testing-library/react';
import { notifications } from '@mantine/notifications';
import { afterEach, describe, expect, it } from 'vitest';
import { AppProviders } from './AppProviders';

afterEach(() => {
  act(() => notifications.clean());
});

describe('AppProviders notifications', () => {
  it('places toasts at the bottom right, clear of the header language selector and account menu', async () => {
    render(<AppProviders fetchImpl={() => Promise.reject(new Error('no network'))}>{null}</AppProviders>);
    act(() => {
      notifications.show({ message: 'Saved' });
    });
    const toast = await screen.findByText('Saved');
    const root = toast.closest<HTMLElement>('[data-position]');
    expect(root).not.toBeNull();
    expect(root!.dataset.position).toBe('bottom-right');
  });
});
