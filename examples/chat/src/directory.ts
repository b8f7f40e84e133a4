/**
 * The demo's "database": users and conversations. In a real app this is your own data; Parley only
 * asks for `conversationsOf(userId)` and `membersOf(conversationId)`. It lives outside the HTTP
 * server so that a restarted server (tests) can keep it, together with the engine.
 */
import { randomUUID } from 'node:crypto';
import type { Engine } from '@parley/server-adapter';

export interface DemoUser {
  id: string;
  name: string;
  /** Role shown under the name. */
  title: string;
  /** Avatar colour. */
  color: string;
}

export type ConversationKind = 'dm' | 'group' | 'support';

export interface DemoConversation {
  id: string;
  kind: ConversationKind;
  /** Shown for groups and support threads; DMs are titled by the other member on the page. */
  title: string;
  members: string[];
}

export const USERS: readonly DemoUser[] = [
  { id: 'alice', name: 'Alice Martin', title: 'Product lead', color: '#6366f1' },
  { id: 'bob', name: 'Bob Chen', title: 'Engineer', color: '#0ea5e9' },
  { id: 'carol', name: 'Carol Diaz', title: 'Customer support', color: '#f59e0b' },
  { id: 'dave', name: 'Dave Kim', title: 'Customer · Northwind', color: '#10b981' },
  { id: 'erin', name: 'Erin Walsh', title: 'Designer', color: '#ec4899' },
];

export interface Directory {
  users: readonly DemoUser[];
  user(id: string): DemoUser | undefined;
  conversation(id: string): DemoConversation | undefined;
  conversationsOf(userId: string): DemoConversation[];
  membersOf(conversationId: string): string[];
  /** The DM of two users, created when missing. `created` tells whether it is new. */
  directConversation(a: string, b: string): { conversation: DemoConversation; created: boolean };
}

export function dmId(a: string, b: string): string {
  return `dm-${[a, b].sort().join('-')}`;
}

export function createDirectory(): Directory {
  const conversations = new Map<string, DemoConversation>();
  const add = (c: DemoConversation) => conversations.set(c.id, c);
  add({ id: dmId('alice', 'bob'), kind: 'dm', title: '', members: ['alice', 'bob'] });
  add({
    id: 'launch',
    kind: 'group',
    title: '# spring-launch',
    members: ['alice', 'bob', 'carol', 'erin'],
  });
  add({
    id: 'support-4821',
    kind: 'support',
    title: 'Support · Northwind #4821',
    members: ['dave', 'carol', 'alice'],
  });
  add({ id: dmId('carol', 'erin'), kind: 'dm', title: '', members: ['carol', 'erin'] });
  add({ id: dmId('bob', 'carol'), kind: 'dm', title: '', members: ['bob', 'carol'] });
  add({
    id: 'design-crit',
    kind: 'group',
    title: '# design-crit',
    members: ['erin', 'bob', 'alice'],
  });
  const byId = new Map(USERS.map((u) => [u.id, u]));
  return {
    users: USERS,
    user: (id) => byId.get(id),
    conversation: (id) => conversations.get(id),
    conversationsOf: (userId) =>
      [...conversations.values()].filter((c) => c.members.includes(userId)),
    membersOf: (id) => conversations.get(id)?.members ?? [],
    directConversation(a, b) {
      const id = dmId(a, b);
      const existing = conversations.get(id);
      if (existing) return { conversation: existing, created: false };
      const conversation: DemoConversation = { id, kind: 'dm', title: '', members: [a, b].sort() };
      add(conversation);
      return { conversation, created: true };
    },
  };
}

type Line = [sender: string, text: string];

const LAUNCH: Line[] = [
  ['alice', 'Morning all! Kicking off the spring launch thread here.'],
  ['erin', 'Hi! I pushed the first pass of the landing page to Figma.'],
  ['bob', 'Nice. Is the pricing table final or still a draft?'],
  ['erin', 'Draft. Waiting on numbers from finance.'],
  ['alice', 'Finance said Thursday. Let’s design for three tiers meanwhile.'],
  ['carol', 'Support wants a FAQ section under pricing, we get asked about seats a lot.'],
  ['erin', 'Good call, adding it.'],
  ['bob', 'Heads-up: the billing API migration lands Monday.'],
  ['alice', 'Does that block the launch?'],
  ['bob', 'No, the new endpoints are behind a flag until we flip it.'],
  ['carol', 'Can we get a staging account to try the new checkout?'],
  ['bob', 'Sure, sending credentials in a DM.'],
  ['erin', 'Hero illustration v2 is up. Darker background, more contrast.'],
  ['alice', 'Love it. The CTA reads much better now.'],
  ['carol', 'Agree, way clearer.'],
  ['bob', 'One nit: the mobile breakpoint cuts the headline at 375px.'],
  ['erin', 'Ugh, yes. Fixing.'],
  ['alice', 'Reminder: go/no-go review is Friday 10:00.'],
  ['carol', 'I’ll bring the top 10 support questions from last quarter.'],
  ['bob', 'Load test results: p99 at 180 ms with 2x expected traffic.'],
  ['alice', 'That’s well under budget, great work.'],
  ['erin', 'Mobile headline fixed, new build in the preview link.'],
  ['bob', 'Looks good on my phone.'],
  ['carol', 'Drafted the launch-day macro for support replies, please skim.'],
  ['alice', 'Skimmed — tone is great. Ship it.'],
  ['erin', 'Last thing from me: social cards exported in all sizes.'],
  ['bob', 'Flag for the new billing endpoints is ready to flip.'],
  ['alice', 'Let’s flip it on launch morning, not before.'],
  ['carol', 'Works for me, I’ll staff the inbox from 8.'],
  ['bob', 'Runbook is in the wiki under Launch → Day 0.'],
  ['erin', 'Can someone double-check the alt texts on the landing page?'],
  ['carol', 'On it.'],
  ['carol', 'Alt texts look good, fixed two typos.'],
  ['alice', 'Thanks everyone, this is shaping up really well.'],
  ['bob', 'Changelog draft is up for review.'],
  ['alice', 'Reviewed, two small comments.'],
  ['erin', 'Pricing numbers are in from finance — updating the table now.'],
  ['alice', 'Go/no-go moved to 11:00 tomorrow, same room.'],
];

const DM: Line[] = [
  ['alice', 'Hey Bob, got a minute for the billing flag question?'],
  ['bob', 'Sure, what’s up?'],
  ['alice', 'If we flip it at 9, how long until every region has it?'],
  ['bob', 'About 5 minutes. Config pushes are global.'],
  ['alice', 'Perfect, thanks!'],
];

const SUPPORT: Line[] = [
  ['system', 'Ticket #4821 opened via the web form · priority normal'],
  ['dave', 'Hi, we were charged twice for March on the Northwind account.'],
  ['carol', 'Hi Dave, sorry about that! Let me look into it right away.'],
  ['carol', 'I can see the duplicate charge. A refund is on its way, 3–5 business days.'],
  ['dave', 'Great, thank you for the quick help.'],
];

const CAROL_ERIN: Line[] = [
  ['erin', 'Do you have screenshots of the old checkout for the FAQ?'],
  ['carol', 'Yes, I’ll drop them in the shared folder.'],
];

const BOB_CAROL: Line[] = [
  ['bob', 'Staging account for the new checkout: check 1Password, vault “Staging”.'],
  ['carol', 'Got it, thanks! Trying the refund flow now.'],
  ['carol', 'Refund flow works end to end. Nice!'],
];

const DESIGN_CRIT: Line[] = [
  ['erin', 'Weekly crit: settings page redesign is up for feedback.'],
  ['alice', 'The grouping by team is a big improvement.'],
  ['bob', 'Can the danger zone move to its own tab? It’s easy to misclick.'],
  ['erin', 'Good point, trying that in v3.'],
];

/** The first message of every seeded conversation: says that this is sample data, kept in memory. */
export const SEED_NOTE =
  'Sample conversation, seeded when the demo server started. The demo keeps messages in memory: a restart starts over.';

/**
 * Seeds the conversations' history straight into the engine (once: a conversation that already has
 * messages is left alone), spread over the last hours, with read positions so that the inbox shows
 * realistic unread badges. Each conversation opens with a system message ({@link SEED_NOTE}) so that
 * nobody mistakes the sample history, seeded again by every new process, for their own.
 */
export async function seed(engine: Engine, directory: Directory, now = Date.now()): Promise<void> {
  // [conversation, lines, lines read per user, minutes since the last line]
  const threads: [string, Line[], Record<string, number>, number][] = [
    [dmId('alice', 'bob'), DM, { alice: 5, bob: 5 }, 75],
    ['launch', LAUNCH, { alice: 34, bob: 36, carol: 30, erin: 38 }, 12],
    ['support-4821', SUPPORT, { carol: 5, alice: 3, dave: 5 }, 48],
    [dmId('carol', 'erin'), CAROL_ERIN, { erin: 2, carol: 1 }, 26 * 60],
    [dmId('bob', 'carol'), BOB_CAROL, { bob: 2, carol: 3 }, 3 * 60],
    ['design-crit', DESIGN_CRIT, { erin: 4, bob: 4, alice: 2 }, 27 * 60],
  ];
  const heads = await engine.heads(threads.map(([id]) => id));
  for (const [conversationId, lines, reads, minutesAgo] of threads) {
    if ((heads.get(conversationId)?.seq ?? 0) > 0) continue;
    await engine.addMembers(conversationId, directory.membersOf(conversationId));
    const start = now - minutesAgo * 60_000 - lines.length * 4 * 60_000;
    const all: Line[] = [['system', SEED_NOTE], ...lines];
    for (const [i, [senderId, text]] of all.entries()) {
      const user = directory.user(senderId);
      await engine.append({
        draft: {
          id: randomUUID(),
          conversationId,
          clientMsgId: `seed-${conversationId}-${i}`,
          senderId,
          ...(user ? { sender: { name: user.name } } : {}),
          kind: user ? 'user' : 'system',
          text,
          createdAt: start + i * 4 * 60_000,
        },
      });
    }
    // seq 1 is the note, so "n lines read" is read up to seq n + 1.
    for (const [userId, read] of Object.entries(reads)) {
      await engine.setRead(conversationId, userId, read + 1);
    }
  }
}
