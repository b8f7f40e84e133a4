import { decodeServerFrame, ProtocolError } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../src/decode.js';
import { createClient, type Logger, type StateChange } from '../src/index.js';
import { mockedWebSocket, mockHub, nextEvent, server, URL, until } from './helpers/mock-hub.js';

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const good = {
  type: 'message',
  message: {
    id: 'm1',
    conversationId: 'c1',
    seq: 1,
    clientMsgId: 'x',
    senderId: 'u2',
    kind: 'user',
    text: 'hi',
    createdAt: 1,
  },
};

describe('default decoder', () => {
  it('accepts valid frames', () => {
    expect(decodeFrame(JSON.stringify(good))).toEqual(good);
    expect(decodeFrame(new TextEncoder().encode(JSON.stringify({ type: 'pong' })))).toEqual({
      type: 'pong',
    });
  });

  it.each([
    ['not json', '{', ''],
    ['unknown type', JSON.stringify({ type: 'nope' }), 'type'],
    [
      'bad nested seq',
      JSON.stringify({ ...good, message: { ...good.message, seq: '1' } }),
      'message.seq',
    ],
    [
      'bad replay item',
      JSON.stringify({ type: 'replay', conversationId: 'c', epoch: 'e', seq: 1, messages: [{}] }),
      'messages.0.id',
    ],
    ['bad ref', JSON.stringify({ type: 'pong', ref: 1 }), 'ref'],
  ])('rejects %s with a ProtocolError naming the field', (_name, raw, field) => {
    const err = (() => {
      try {
        decodeFrame(raw);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).field).toBe(field);
  });

  it('drops an invalid frame (logged) and keeps the connection', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_o, msg) => warnings.push(msg ?? ''),
    };
    const hub = mockHub();
    const c = createClient({
      url: URL,
      WebSocket: mockedWebSocket(),
      logger,
      decode: decodeServerFrame,
    });
    await nextEvent<StateChange>(
      (l) => c.on('state', l),
      (s) => s.to === 'open',
    );
    hub.conns[0]!.send({ type: 'message', message: { ...good.message, seq: -1 } } as never);
    hub.conns[0]!.send(good as never);
    await until(() => expect(c.conversation('c1').messages).toHaveLength(1));
    expect(warnings).toContain('parley: dropped an invalid frame from the server');
    expect(c.state).toBe('open');
    c.close();
  });
});
