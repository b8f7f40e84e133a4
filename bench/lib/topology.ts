/**
 * The workload's membership, computed the same way by the load generator and by every server:
 * conversation `c<i>` has members `u<(i*members + k) % users>` for k in [0, members).
 * With users × convsPerUser = conversations × members every user is in the same number of
 * conversations (1,000 users, 500 conversations × 10 members → 5 conversations each).
 */
export interface Topology {
  users: number;
  conversations: number;
  members: number;
}

export const userId = (u: number): string => `u${u}`;
export const convId = (c: number): string => `c${c}`;

/** Members (user indexes) of each conversation. */
export function membersOf(t: Topology): number[][] {
  const out: number[][] = [];
  for (let c = 0; c < t.conversations; c++) {
    const m = new Set<number>();
    for (let k = 0; k < t.members; k++) m.add((c * t.members + k) % t.users);
    out.push([...m]);
  }
  return out;
}

/** Conversations (indexes) of each user. */
export function conversationsOfUsers(t: Topology): number[][] {
  const out: number[][] = Array.from({ length: t.users }, () => []);
  membersOf(t).forEach((members, c) => {
    for (const u of members) out[u]!.push(c);
  });
  return out;
}

/** Parses `u123` back to 123. */
export const userIndex = (id: string): number => Number(id.slice(1));

/**
 * The hub's default per-connection rate limit (`limits.rate`, announced in `welcome.limits.rate`).
 * The bench runs Parley with its defaults (issue #15), so the workload must stay within it.
 */
export const DEFAULT_RATE_LIMIT = { perSecond: 20, burst: 60 } as const;

/**
 * Share of the per-connection rate a sender uses at most. The load generator spreads sends
 * round-robin over every connection, so each sends `rate / senders` msg/s, evenly spaced; the
 * remaining 20 % (and the burst of 60 frames, > 3 s of sends) absorb timer jitter and stalls of
 * either side, so a correct workload never meets `rate_limited`.
 */
export const SENDER_HEADROOM = 0.8;

/** Messages per second one sender connection may send: 16 with the hub's defaults. */
export const senderBudget = (limit: { perSecond: number } = DEFAULT_RATE_LIMIT): number =>
  limit.perSecond * SENDER_HEADROOM;

/** Sender connections of a topology: every device of every user with a conversation. */
export function senders(t: Topology, devices: number): number {
  return conversationsOfUsers(t).filter((cs) => cs.length > 0).length * devices;
}

/** The highest rate (msg/s) a topology can send within the per-sender budget. */
export const rateCeiling = (t: Topology, devices: number): number =>
  senders(t, devices) * senderBudget();

/**
 * The smallest whole multiple of `t` (users and conversations × k: the same members per
 * conversation and conversations per user, so the same fan-out and per-connection state) that can
 * send `rate` msg/s within the per-sender budget. The ramp uses it for every system alike.
 */
export function scaledFor(t: Topology, devices: number, rate: number): Topology {
  const k = Math.max(1, Math.ceil(rate / rateCeiling(t, devices)));
  return { users: t.users * k, conversations: t.conversations * k, members: t.members };
}
