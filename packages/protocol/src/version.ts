/** The protocol version this package speaks. Bumped only for incompatible wire changes. */
export const PROTOCOL_VERSION = 1 as const;

/**
 * The WebSocket subprotocol a Parley client offers in `Sec-WebSocket-Protocol`.
 * A server that does not support it closes with {@link CloseCode.SubprotocolNotAcceptable} (4406).
 */
export const SUBPROTOCOL = `parley.v${PROTOCOL_VERSION}` as const;
