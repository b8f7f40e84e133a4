/**
 * The call-signalling events, shared by the server and every client: one definition, validated on
 * both ends (the hub rejects a bad payload with `invalid_frame`, the client refuses to send one and
 * drops a bad one it receives) and fully typed in TypeScript.
 */
import { defineEvents } from '@parley/protocol';
import { z } from 'zod';

const callId = z.string().min(1).max(64);

export const callEvents = defineEvents({
  /** Caller → callee: the SDP offer. */
  'call.offer': z.object({
    callId,
    sdp: z.string().min(1).max(16_000),
    media: z.array(z.enum(['audio', 'video'])).min(1),
  }),
  /** Callee → caller: the SDP answer. */
  'call.answer': z.object({ callId, sdp: z.string().min(1).max(16_000) }),
  /** Both ways: trickled ICE candidates, in the order they were gathered. */
  'call.ice': z.object({
    callId,
    candidate: z.string().max(1024),
    sdpMid: z.string().nullable(),
    sdpMLineIndex: z.number().int().min(0).nullable(),
  }),
  /** Either side: the call ended or was declined. */
  'call.hangup': z.object({ callId, reason: z.enum(['ended', 'declined', 'busy', 'failed']) }),
});

export type CallEvents = typeof callEvents;
