import { createMemoryEngine } from '../src/engines/memory/index.js';
import { runEngineContract } from './engine-contract.js';
import { runInboxContract } from './engine-contract-inbox.js';

runEngineContract('memory', (options) => createMemoryEngine(options));
runInboxContract('memory', (options) => createMemoryEngine(options));
