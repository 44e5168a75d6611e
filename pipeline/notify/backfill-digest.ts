/**
 * The `rule` of the digest that announces a backfill (the first reconcile into an empty database, issue 11): its
 * findings, whatever their rule, fold into ONE digest per channel. Not a rule name (those have no `*`), so it never
 * meets a flood digest of a real rule, and the unique open digest per (channel, rule, kind) still holds.
 */
export const BackfillDigestRule = '*';
