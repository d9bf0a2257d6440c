/** Glance's tables (migrations 010-019). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ImageTables {}
