/**
 * Child process of the crash test: runs the 4-validator network until the sign-state file's
 * test-only crash hook (PULSEMESH_TEST_CRASH_AFTER_SIGNSTATE_HEIGHT) SIGKILLs this process right
 * after a vote was persisted and before it was signed or sent.
 */
import { installNodeCrypto } from '../src/crypto/node-backend.ts'
import { fourValidatorGenesis, startLocal } from './consensus-fixtures.ts'
import { keyFromByte } from './fixtures.ts'

installNodeCrypto()
const dir = process.argv[2]
await startLocal(fourValidatorGenesis([keyFromByte(1)]), dir)
// Kept alive by the consensus timers until the hook fires; a safety exit if it never does.
setTimeout(() => process.exit(3), 60_000).unref()
