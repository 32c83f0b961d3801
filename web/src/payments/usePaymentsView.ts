import { useCallback, useMemo } from 'react';
import { useLocation, useNavigate, useSearchParams } from 'react-router';
import { EMPTY_FILTERS, filtersFromSearch, filtersToSearch, type PaymentFilters } from './filters';

// History state of a page of results: the cursors of the pages before it ('' = first page),
// so "previous" works with the API's forward-only cursors and the browser's back button agrees.
interface PageState {
  cursors?: string[];
  /** fromList marks a detail page opened from the list: closing it goes back in history. */
  fromList?: boolean;
}

/** PaymentsView is the URL-backed state of the payments page. */
export interface PaymentsView {
  filters: PaymentFilters;
  /** pageIndex is 0 for the first page; null on a shared link into a later page. */
  pageIndex: number | null;
  /** canGoBack is false on a shared link into a later page (no history of earlier cursors). */
  canGoBack: boolean;
  apply: (next: PaymentFilters) => void;
  reset: () => void;
  nextPage: (cursor: string) => void;
  previousPage: () => void;
  firstPage: () => void;
  /** openPayment shows the detail page of a payment over the list, keeping the list's URL state. */
  openPayment: (id: string) => void;
  /** closePayment returns to the list: back in history when the detail was opened from it. */
  closePayment: () => void;
}

/** usePaymentsView reads the filters from the URL and changes them by navigating. */
export function usePaymentsView(): PaymentsView {
  const [params] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const filters = useMemo(() => filtersFromSearch(params), [params]);
  const cursors = useMemo(() => {
    const st = location.state as PageState | null;
    return Array.isArray(st?.cursors) ? st.cursors.filter((c): c is string => typeof c === 'string') : [];
  }, [location.state]);

  const go = useCallback(
    (f: PaymentFilters, state: PageState) => {
      const qs = filtersToSearch(f).toString();
      // Always the list: changing the filters from a detail URL closes the detail.
      void navigate({ pathname: '/payments', search: qs ? `?${qs}` : '' }, { state });
    },
    [navigate],
  );

  return {
    filters,
    pageIndex: filters.cursor ? (cursors.length > 0 ? cursors.length : null) : 0,
    canGoBack: filters.cursor !== null && cursors.length > 0,
    apply: (next) => go({ ...next, cursor: null }, {}),
    reset: () => go({ ...EMPTY_FILTERS, sort: filters.sort, limit: filters.limit }, {}),
    nextPage: (cursor) => go({ ...filters, cursor }, { cursors: [...cursors, filters.cursor ?? ''] }),
    previousPage: () => {
      const prev = cursors[cursors.length - 1];
      go({ ...filters, cursor: prev ? prev : null }, { cursors: cursors.slice(0, -1) });
    },
    firstPage: () => go({ ...filters, cursor: null }, {}),
    openPayment: (id) => {
      const st = (location.state as PageState | null) ?? {};
      void navigate({ pathname: `/payments/${encodeURIComponent(id)}`, search: location.search }, { state: { ...st, fromList: true } });
    },
    closePayment: () => {
      const st = location.state as PageState | null;
      if (st?.fromList) {
        void navigate(-1);
        return;
      }
      void navigate({ pathname: '/payments', search: location.search }, { state: { cursors: st?.cursors } });
    },
  };
}
