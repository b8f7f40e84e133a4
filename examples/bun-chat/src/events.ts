/**
 * Call signalling as typed custom events: what the hand-written server relayed as untyped
 * `{ type: 'offer' | 'answer' | 'ice', to, … }` JSON. One definition, validated by the hub and by
 * every client, typed in TypeScript on both ends.
 */
import { defineEvents } from '@parley/protocol';
import { z } from 'zod';

const callId = z.string().min(1).max(64);

export const callEvents = defineEvents({
  /** Caller → callee: the SDP offer. */
  'call.offer': z.object({ callId, sdp: z.string().min(1).max(16_000), video: z.boolean() }),
  /** Callee → caller: the SDP answer. */
  'call.answer': z.object({ callId, sdp: z.string().min(1).max(16_000) }),
  /** Both ways: trickled ICE candidates. */
  'call.ice': z.object({
    callId,
    candidate: z.string().max(1024),
    sdpMid: z.string().nullable(),
    sdpMLineIndex: z.number().int().min(0).nullable(),
  }),
  /** Either side: the call ended or was declined. */
  'call.hangup': z.object({ callId, reason: z.enum(['ended', 'declined', 'busy']) }),
});

export type CallEvents = typeof callEvents;
