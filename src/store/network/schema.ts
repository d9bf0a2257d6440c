/** Neutron's tables (migrations 020-039). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NetworkTables {}
