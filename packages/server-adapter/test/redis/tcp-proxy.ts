/**
 * A TCP proxy in front of a test's own redis-server, that can make its open links go silent the
 * way a dead route does: no RST, no FIN, nothing read or written any more. Redis forgets the
 * client (its side is closed); the client's socket stays open and hears nothing. New connections
 * through the proxy work as before, so a client that notices and reconnects recovers.
 */
import net, { type AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  url: string;
  /** Every link open now goes silent; later ones are proxied normally. */
  blackhole(): void;
  /**
   * While on, new links are accepted and then silent from the start (a connect that succeeds and
   * a handshake never answered).
   */
  silenceNew(on: boolean): void;
  /** Links accepted so far. */
  readonly accepted: number;
  /** Links open now, silent ones included. */
  readonly links: number;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<{ client: net.Socket; upstream: net.Socket; silent: boolean }>();
  let silentFromStart = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = new net.Socket();
    const link = { client, upstream, silent: silentFromStart };
    if (!link.silent) upstream.connect(targetPort, '127.0.0.1');
    links.add(link);
    client.on('data', (d) => {
      if (!link.silent) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!link.silent) client.write(d);
    });
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => {
      links.delete(link);
      upstream.destroy();
    });
    upstream.on('close', () => {
      if (!link.silent) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    blackhole() {
      for (const link of links) {
        link.silent = true;
        link.upstream.destroy();
      }
    },
    silenceNew(on) {
      silentFromStart = on;
    },
    get links() {
      return links.size;
    },
    get accepted() {
      return accepted;
    },
    close() {
      for (const { client, upstream } of links) {
        client.destroy();
        upstream.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
