/**
 * The memory engine holds stored messages and idempotency records as JSON strings (issue 15):
 * what it returns is a fresh object each time, and the idempotency records are bounded by bytes
 * (`idempotency.maxBytes`) as well as by count and age.
 */
import { byteLength, type Message } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import type { MessageDraft } from '../src/engines/types.js';
import { draft } from './engine-contract.js';
import { opDraft } from './engine-operations.js';

const C = 'c1';
/** Drafts of one size: `m<i>` with a fixed text, so that every record has the same bytes. */
const sized = (i: number, over: Partial<MessageDraft> = {}): MessageDraft =>
  draft(C, {
    id: `id-${i}`,
    clientMsgId: `m${i}`,
    text: 'x'.repeat(100),
    createdAt: Date.now(),
    ...over,
  });
/** The bytes a record of `message` counts: its JSON and its key. */
const recordBytes = (m: Message): number =>
  byteLength(JSON.stringify(m)) + byteLength(`${m.senderId}\u0000${m.clientMsgId}`);

describe('memory engine: idempotency records bounded by bytes', () => {
  it('evicts the oldest records first once their bytes pass maxBytes', async () => {
    const probe = createMemoryEngine();
    const size = recordBytes((await probe.append({ draft: sized(0) })).message);
    await probe.close();

    // Room for three records (not four), far below the count bound.
    const e = createMemoryEngine({ idempotency: { maxBytes: size * 3 + size / 2 } });
    for (let i = 0; i < 3; i++) await e.append({ draft: sized(i) });
    for (let i = 0; i < 3; i++) expect(await e.findByClientId(C, 'alice', `m${i}`)).toBeDefined();

    await e.append({ draft: sized(3) });
    expect(await e.findByClientId(C, 'alice', 'm0')).toBeUndefined();
    for (let i = 1; i < 4; i++) {
      expect((await e.findByClientId(C, 'alice', `m${i}`))?.seq).toBe(i + 1);
    }
    // A retry inside the bound is a duplicate; the retry of the evicted record is stored as new.
    expect(await e.append({ draft: sized(2) })).toMatchObject({
      duplicate: true,
      message: { seq: 3 },
    });
    expect(await e.claimSend(C, 'alice', 'm3', 1000)).toMatchObject({ state: 'stored' });
    expect(await e.append({ draft: sized(0) })).toMatchObject({
      duplicate: false,
      message: { seq: 5 },
    });
    // ...which evicted the next oldest, m1.
    expect(await e.findByClientId(C, 'alice', 'm1')).toBeUndefined();
    expect(await e.findByClientId(C, 'alice', 'm2')).toBeDefined();
    await e.close();
  });

  it('keeps the newest record even when it alone is over maxBytes', async () => {
    const e = createMemoryEngine({ idempotency: { maxBytes: 10 } });
    await e.append({ draft: sized(0) });
    expect((await e.findByClientId(C, 'alice', 'm0'))?.seq).toBe(1);
    expect((await e.append({ draft: sized(0) })).duplicate).toBe(true);
    await e.append({ draft: sized(1) });
    expect(await e.findByClientId(C, 'alice', 'm0')).toBeUndefined();
    expect((await e.findByClientId(C, 'alice', 'm1'))?.seq).toBe(2);
    await e.close();
  });

  it('bounds each conversation on its own', async () => {
    const probe = createMemoryEngine();
    const size = recordBytes((await probe.append({ draft: sized(0) })).message);
    await probe.close();
    const e = createMemoryEngine({ idempotency: { maxBytes: size * 2 } });
    await e.append({ draft: sized(0) });
    await e.append({ draft: sized(0, { conversationId: 'c2' }) });
    await e.append({ draft: sized(1, { conversationId: 'c2' }) });
    expect(await e.findByClientId(C, 'alice', 'm0')).toBeDefined();
    expect(await e.findByClientId('c2', 'alice', 'm0')).toBeDefined();
    await e.close();
  });
});

describe('memory engine: idempotency records over time', () => {
  it('a key written again after its record expired keeps its new record', async () => {
    let clock = 1_000_000;
    const e = createMemoryEngine({ idempotency: { ttlMs: 1000 }, now: () => clock });
    await e.append({ draft: sized(0) });
    clock += 500;
    await e.append({ draft: sized(1) });
    clock += 501;
    expect(await e.findByClientId(C, 'alice', 'm0')).toBeUndefined();
    expect((await e.append({ draft: sized(0) })).message.seq).toBe(3); // evicts the old m0 slot
    expect((await e.findByClientId(C, 'alice', 'm0'))?.seq).toBe(3);
    expect((await e.findByClientId(C, 'alice', 'm1'))?.seq).toBe(2);
    await e.close();
  });

  it('keeps exactly the newest maxEntries records over many writes', async () => {
    const e = createMemoryEngine({ idempotency: { maxEntries: 10 } });
    for (let i = 0; i < 3000; i++) await e.append({ draft: sized(i) });
    expect(await e.findByClientId(C, 'alice', 'm2989')).toBeUndefined();
    for (let i = 2990; i < 3000; i++) {
      expect((await e.findByClientId(C, 'alice', `m${i}`))?.seq).toBe(i + 1);
    }
    await e.close();
  });
});

describe('memory engine: returned messages are copies', () => {
  it('mutating a returned message changes nothing a later read returns', async () => {
    const e = createMemoryEngine();
    const sent = await e.append({ draft: draft(C, { clientMsgId: 'k1', text: 'hello' }) });
    const original = structuredClone(sent.message);
    sent.message.text = 'changed';
    (sent.message as { seq: number }).seq = 99;

    for (const m of [
      (await e.page(C, undefined, 10)).messages[0],
      (await e.range(C, 0, 10)).messages[0],
      await e.message(C, 1),
      await e.findByClientId(C, 'alice', 'k1'),
      (await e.inbox('bob', [C])).get(C)?.lastMessage,
      (await e.append({ draft: draft(C, { clientMsgId: 'k1' }) })).message,
    ]) {
      expect(m).toEqual(original);
      m!.text = 'mutated again';
    }
    expect((await e.page(C, undefined, 10)).messages[0]).toEqual(original);
    await e.close();
  });

  it('a duplicate returns the message as first stored, the history its current state', async () => {
    const e = createMemoryEngine();
    const sent = await e.append({ draft: draft(C, { clientMsgId: 'k1', text: 'v1' }) });
    const edit = await e.applyOperation({ draft: opDraft(C, 1, 'edit', { text: 'v2' }) });
    expect(edit).toMatchObject({ state: 'stored', target: { text: 'v2', version: 2 } });
    expect((await e.append({ draft: draft(C, { clientMsgId: 'k1' }) })).message).toEqual(
      sent.message,
    );
    expect(await e.message(C, 1)).toMatchObject({ text: 'v2', version: 2 });
    await e.close();
  });
});

describe('memory engine: range gives the stored JSON', () => {
  it('each message as JSON.stringify gives it, in its current state, parsed only if read', async () => {
    const e = createMemoryEngine();
    for (let i = 0; i < 3; i++) await e.append({ draft: sized(i, { text: `t${i} é😀` }) });
    await e.applyOperation({ draft: opDraft(C, 2, 'edit', { text: 'edited' }) });
    const r = await e.range(C, 0, 100);
    expect(r.complete).toBe(true);
    expect(r.json).toHaveLength(4);
    expect(r.json).toEqual(r.messages.map((m) => JSON.stringify(m)));
    expect(r.messages[1]).toMatchObject({ seq: 2, text: 'edited', version: 4 });
    expect(r.messages).toBe(r.messages); // parsed once
    await e.close();
  });

  it('a page too: its JSON in the current state, parsed only if read', async () => {
    const e = createMemoryEngine();
    for (let i = 0; i < 5; i++) await e.append({ draft: sized(i) });
    await e.applyOperation({ draft: opDraft(C, 4, 'delete') });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const p = await e.page(C, 5, 3);
      expect(p.hasMore).toBe(true);
      expect(p.json).toHaveLength(3);
      expect(parse).not.toHaveBeenCalled();
      expect(p.json).toEqual(p.messages.map((m) => JSON.stringify(m)));
      expect(p.messages.map((m) => m.seq)).toEqual([2, 3, 4]);
      expect(p.messages[2]).toMatchObject({ seq: 4, deleted: true });
    } finally {
      parse.mockRestore();
    }
    await e.close();
  });

  it('parses nothing until the messages are read (a replay only splices the JSON)', async () => {
    const e = createMemoryEngine();
    for (let i = 0; i < 20; i++) await e.append({ draft: sized(i) });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const r = await e.range(C, 0, 100);
      expect(r.json).toHaveLength(20);
      expect(parse).not.toHaveBeenCalled();
      expect(r.messages).toHaveLength(20);
      expect(parse).toHaveBeenCalledTimes(20);
    } finally {
      parse.mockRestore();
    }
    await e.close();
  });
});

describe('memory engine: range with maxBytes', () => {
  it('answers incomplete, without the messages, when their JSON is over maxBytes', async () => {
    const e = createMemoryEngine();
    for (let i = 0; i < 5; i++) await e.append({ draft: sized(i) });
    const all = await e.range(C, 0, 100);
    const bytes = all.messages.reduce((n, m) => n + byteLength(JSON.stringify(m)), 0);
    expect((await e.range(C, 0, 100, bytes)).messages).toHaveLength(5);
    expect(await e.range(C, 0, 100, bytes - 100)).toMatchObject({
      complete: false,
      messages: [],
      head: { seq: 5 },
    });
    await e.close();
  });
});
