/**
 * Everything a connection sends, and the one byte budget that bounds what the hub holds for it
 * (issue 13): the socket's send buffer, frames buffered before `welcome`, live messages held back
 * while a replay or join is prepared, and a replay being built. Past the budget the socket is
 * closed with 1013 ("try again later"); the client resumes from its cursors.
 */
import { CloseCode, type Message } from '@parley/protocol';
import { utf8Bytes, utf8Encode } from '../text.js';
import type { HubContext } from './context.js';
import { metric } from './context.js';

/** The minimal socket an adapter hands to the hub. */
export interface HubSocket {
  /** Queues a text frame. */
  send(data: string): void;
  /**
   * Queues a text frame given as its UTF-8 bytes. Optional: with it, a frame fanned out to many
   * sockets is encoded once, not once per socket (issue 15); the bytes are shared between
   * sockets and must not be modified.
   */
  sendBytes?(data: Uint8Array): void;
  /** Bytes queued but not yet written to the network. */
  bufferedAmount(): number;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Destroys the connection at once. */
  terminate(): void;
  /**
   * Sends a WebSocket ping, answered by the adapter calling `onPong`. Without it the hub sends an
   * app-level `ping` frame instead and takes the client's `pong` frame as the answer.
   */
  ping?(): void;
}

/** UTF-8 bytes of a frame, measured exactly only when the cheap bound (3 bytes per unit) is not enough. */
export function frameBytes(frame: string, within: number): number {
  return frame.length * 3 <= within ? frame.length : utf8Bytes(frame);
}

/** How {@link messageFrame} starts; an `ack` splices the message out of it. */
export const MESSAGE_FRAME_PREFIX = '{"type":"message","message":';

/**
 * The `message` frame of a message (what `JSON.stringify({ type, message })` gives), from the
 * message or from its JSON text.
 */
export function messageFrame(message: Message | string): string {
  return `${MESSAGE_FRAME_PREFIX}${typeof message === 'string' ? message : JSON.stringify(message)}}`;
}

let lastText: string | undefined;
let lastBytes: Uint8Array = new Uint8Array(0);

/**
 * The UTF-8 bytes of a frame. A fan-out hands the same string to every socket in one synchronous
 * loop, so remembering the last one encodes it once per fan-out (equal strings, equal bytes).
 */
function utf8(frame: string): Uint8Array {
  if (frame !== lastText) {
    lastBytes = utf8Encode(frame);
    lastText = frame;
  }
  return lastBytes;
}

/** What the outbound side needs from its connection. */
export interface OutboundOwner {
  readonly id: string;
  readonly userId: string | undefined;
  isClosed(): boolean;
  close(code: number, reason: string): void;
}

export class Outbound {
  /** Bytes the hub holds for this socket outside its send buffer (see the file comment). */
  private held = 0;
  /** Frames fanned out before `welcome` (typing, reads, events, presence): sent right after it. */
  private early: { frame: string; ephemeral: boolean; bytes: number }[] | null = [];

  constructor(
    private readonly ctx: HubContext,
    private readonly socket: HubSocket,
    private readonly owner: OutboundOwner,
  ) {}

  /** Bytes held for this socket now: its send buffer plus what the hub holds. */
  used(): number {
    return this.socket.bufferedAmount() + this.held;
  }

  /** Bytes in the socket's send buffer (not yet written to the network). */
  buffered(): number {
    return this.socket.bufferedAmount();
  }

  /** Room left in the budget, in bytes. */
  room(): number {
    return this.ctx.config.hardLimitBytes - this.used();
  }

  /**
   * Counts `bytes` the hub starts holding for this socket (held live messages). Past the budget
   * the socket is closed 1013 and false returned: the caller drops what it wanted to hold.
   */
  reserve(bytes: number, why = 'fell behind'): boolean {
    if (this.owner.isClosed()) return false;
    if (this.used() + bytes > this.ctx.config.hardLimitBytes) {
      this.overflow(why);
      return false;
    }
    this.held += bytes;
    return true;
  }

  /** The hub no longer holds `bytes` (sent, or dropped). */
  unreserve(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  /**
   * Sends a serialised frame within the budget: past the soft limit ephemeral frames are dropped;
   * a frame that would take the socket past the budget is not sent and the socket is closed 1013.
   */
  send(frame: string, ephemeral = false): boolean {
    if (this.owner.isClosed()) return false;
    const { softLimitBytes, hardLimitBytes } = this.ctx.config;
    const used = this.used();
    if (ephemeral && used > softLimitBytes) {
      this.ctx.counters.droppedEphemeral++;
      return false;
    }
    const bytes = this.socket.sendBytes === undefined ? undefined : utf8(frame);
    const size = bytes === undefined ? frameBytes(frame, hardLimitBytes - used) : bytes.length;
    if (used + size > hardLimitBytes) {
      this.overflow('slow consumer');
      return false;
    }
    try {
      if (bytes === undefined) this.socket.send(frame);
      else this.socket.sendBytes!(bytes);
    } catch (err) {
      this.ctx.logger.debug({ err, connectionId: this.owner.id }, 'parley: send failed');
      return false;
    }
    this.ctx.counters.framesOut++;
    return true;
  }

  /** Before `welcome`: held (within the budget) and sent right after it; then like {@link send}. */
  sendOrHold(frame: string, ephemeral: boolean): void {
    if (this.early === null) {
      this.send(frame, ephemeral);
      return;
    }
    const bytes = frameBytes(frame, Number.POSITIVE_INFINITY);
    if (this.reserve(bytes)) this.early.push({ frame, ephemeral, bytes });
  }

  /** Sends what {@link sendOrHold} held during the session start (right after `welcome`). */
  flushEarly(): void {
    const held = this.early ?? [];
    this.early = null;
    for (const h of held) {
      this.unreserve(h.bytes);
      this.send(h.frame, h.ephemeral);
    }
  }

  private overflow(why: string): void {
    const bufferedAmount = this.used();
    this.ctx.counters.slowConsumerCloses++;
    metric(this.ctx, {
      type: 'slow_consumer',
      bufferedAmount,
      ...(this.owner.userId === undefined ? {} : { userId: this.owner.userId }),
    });
    this.ctx.logger.warn(
      { connectionId: this.owner.id, userId: this.owner.userId, bufferedAmount, why },
      'parley: slow consumer closed',
    );
    this.owner.close(CloseCode.TryAgainLater, why);
  }
}
