// Writes packages/protocol/schema/*.json from the Zod schemas. Run: pnpm schema
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientJsonSchema, serverJsonSchema } from '../src/json-schema.js';

const dir = fileURLToPath(new URL('../schema/', import.meta.url));
writeFileSync(`${dir}client-frames.json`, `${JSON.stringify(clientJsonSchema(), null, 2)}\n`);
writeFileSync(`${dir}server-frames.json`, `${JSON.stringify(serverJsonSchema(), null, 2)}\n`);
console.log('wrote schema/client-frames.json and schema/server-frames.json');
