/**
 * Key and channel names of the Redis engine, in one place, for both modes.
 *
 * Single node: the names of every release before Redis Cluster support, unchanged
 * (`P meta:<conv>`, `P conns:<user>`, `P presence-deadlines`, channel `P conv:<conv>`).
 *
 * Redis Cluster: every key of one conversation carries the hash tag `{c:<id>}` and so lives in one
 * slot with the conversation's shard channel (`P conv:{c:<id>}`), which keeps each script on one
 * slot. In the tag, `%`, `{` and `}` of the id are percent-encoded: an id with braces cannot end
 * the tag early (which would still be consistent, but would pile such ids onto one slot) and an
 * empty id cannot make an empty tag (which Redis ignores). Per-user keys carry the tag of the
 * user's presence bucket `{pb:<n>}` (a hash of the user id modulo `presenceBuckets`): the
 * presence scripts update a user's keys and the bucket's deadline index in one step, and the
 * sweep walks the buckets. The id itself stays in the key name after the tag, so names stay
 * distinct. User channels are `P user:{u:<id>}`, one slot per user.
 */

/** Percent-encodes what would end or confuse a hash tag. */
const tagSafe = (id: string): string =>
  id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);

/** FNV-1a over UTF-16 code units: a stable, fast bucket for a user id. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Builds key and channel names; see the file comment. */
export class KeyNames {
  readonly cluster: boolean;
  private readonly prefix: string;
  private readonly buckets: number;

  constructor(prefix: string, cluster: boolean, presenceBuckets: number) {
    if (cluster && /[{}]/.test(prefix))
      throw new TypeError(
        'createRedisEngine: on Redis Cluster the keyPrefix must not contain { or }',
      );
    if (!Number.isInteger(presenceBuckets) || presenceBuckets < 1 || presenceBuckets > 16384)
      throw new TypeError('createRedisEngine: presence.buckets must be an integer in 1..16384');
    this.prefix = prefix;
    this.cluster = cluster;
    this.buckets = cluster ? presenceBuckets : 1;
  }

  /**
   * What every key name of a conversation ends with: `${prefix}<name>:${convTag(id)}`. New
   * per-conversation keys must be built the same way so that they share the conversation's slot.
   */
  convTag(conversationId: string): string {
    return this.cluster ? `{c:${tagSafe(conversationId)}}` : conversationId;
  }

  /** The channel of a topic: `P conv:<tag>`, `P user:<tag>` or `P presence`. */
  channel(topic: string): string {
    if (!this.cluster) return this.prefix + topic;
    if (topic.startsWith('conv:')) return `${this.prefix}conv:${this.convTag(topic.slice(5))}`;
    if (topic.startsWith('user:')) return `${this.prefix}user:{u:${tagSafe(topic.slice(5))}}`;
    return this.prefix + topic;
  }

  /** Presence bucket of a user (always 0 on a single node). */
  bucketOf(userId: string): number {
    return this.buckets === 1 ? 0 : fnv1a(userId) % this.buckets;
  }

  /** Number of presence buckets (1 on a single node). */
  get bucketCount(): number {
    return this.buckets;
  }

  /** The deadline index of a presence bucket. */
  deadlines(bucket: number): string {
    return this.cluster
      ? `${this.prefix}presence-deadlines:{pb:${bucket}}`
      : `${this.prefix}presence-deadlines`;
  }

  /** A user's keys: all in the slot of the user's presence bucket on Cluster. */
  user(userId: string): { conns: string; presence: string; kick: string; deadlines: string } {
    const bucket = this.bucketOf(userId);
    const t = this.cluster ? `{pb:${bucket}}${userId}` : userId;
    return {
      conns: `${this.prefix}conns:${t}`,
      presence: `${this.prefix}presence:${t}`,
      kick: `${this.prefix}kick:${t}`,
      deadlines: this.deadlines(bucket),
    };
  }

  /** The control mark: one counter, read once per session start, taken per leave and kick. */
  get mark(): string {
    return `${this.prefix}ctl-mark`;
  }
}
