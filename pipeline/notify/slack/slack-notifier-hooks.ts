/** Test seams for the two crash points of the post protocol: throwing from a hook is a crash at that point. */
export interface SlackNotifierHooks {
  /** After the delivery row says "sending", before chat.postMessage. */
  readonly afterClaim?: (postKey: string) => void | Promise<void>;
  /** After Slack accepted the post, before its ts is recorded. */
  readonly afterSend?: (postKey: string, ts: string) => void | Promise<void>;
  /** After a digest's first post was claimed, before rendering and pacing. */
  readonly afterDigestClaim?: (digestId: string) => void | Promise<void>;
}
