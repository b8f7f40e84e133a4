/**
 * Deepest nesting accepted in app-defined JSON. A module constant as well as `Limits.MAX_JSON_DEPTH`
 * so that `isJsonValue` does not keep the whole `Limits` object in a browser bundle.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Size limits shared by both ends. A server may configure lower values and announces the ones in
 * force in `welcome.limits`; the values here are the protocol's upper bounds and the defaults.
 */
export const Limits = {
  /** Largest inbound frame a server accepts by default, in bytes (UTF-8). */
  // 64 KiB. Literals here, not `64 * 1024`: esbuild drops an unused `Limits` from a bundle only then.
  MAX_FRAME_BYTES: 65_536 as number,
  /**
   * Longest message text, in Unicode code points (the protocol's one unit for text length; see
   * `textLength`). JSON Schema's `maxLength` counts the same way.
   */
  MAX_TEXT_LENGTH: 10_000,
  /** Longest id of any kind (conversation, user, client message, request ref), in code points. */
  MAX_ID_LENGTH: 128,
  /** Longest custom event name. */
  MAX_EVENT_NAME_LENGTH: 64,
  /** Deepest nesting accepted in app-defined JSON (`data`, event `payload`). */
  MAX_JSON_DEPTH,
  /** Most resume cursors one `hello` may carry. */
  MAX_CURSORS: 10_000,
  /** Largest page a `history` request may ask for. */
  MAX_HISTORY_PAGE: 200,
  /** Longest reaction (an emoji or an app's shortcode), in code points. */
  MAX_EMOJI_LENGTH: 32,
  /** Most distinct reactions on one message. */
  MAX_REACTION_KINDS: 32,
  /** Most member ids a conversation's metadata lists. */
  MAX_META_MEMBERS: 1000,
  /** Longest credential token, in code points (a JWT is ASCII: bytes and code points agree). */
  MAX_TOKEN_LENGTH: 8_192 as number, // 8 KiB
} as const;
