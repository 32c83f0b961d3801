/** HEADER_HEIGHT is the signed-in header's height in px (AppLayout); toasts start below it. */
export const HEADER_HEIGHT = 60;
