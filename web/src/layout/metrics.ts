/** HEADER_HEIGHT is the signed-in header's height in px (AppLayout). */
export const HEADER_HEIGHT = 60;
