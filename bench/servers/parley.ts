/**
 * System under test 3: the Parley hub (servers/parley-hub.ts) on Node, `attachHub` on node:http
 * at `/parley`.
 */
import { createServer } from 'node:http';
import { attachHub } from '@parley/server-adapter/node';
import { host, readConfig } from '../lib/server-host.js';
import { benchHub } from './parley-hub.js';

const config = readConfig();
const { hub, engine } = benchHub(config);
const http = createServer();
const attached = attachHub(hub, http, { path: '/parley' });

await host(config, {
  http,
  connections: () => hub.stats().connections,
  close: async () => {
    await hub.close();
    await attached.close();
    await engine?.close();
    http.close();
  },
});
