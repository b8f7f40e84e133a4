import { createMemoryEngine } from '../src/engines/memory/index.js';
import { runEngineContract } from './engine-contract.js';
import { runInboxContract } from './engine-contract-inbox.js';
import { runOperationContract } from './engine-operations.js';

runEngineContract('memory', (options) => createMemoryEngine(options));
runInboxContract('memory', (options) => createMemoryEngine(options));
runOperationContract('memory', (options) => createMemoryEngine(options));
