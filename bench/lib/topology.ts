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
