/**
 * The consensus validator set of a network, built the same way everywhere (node, SDK, light
 * clients): CometBFT ordering (power desc, then address), address = the key's 20-byte account id.
 * Commit signatures refer to validators by their index in THIS order.
 */
import { createValidatorSet, type ValidatorSet } from '@pulsemesh/consensus/validator-set.ts'
import { accountIdOf } from './accounts.ts'

export function validatorSetOf(
  validators: readonly { publicKey: Uint8Array; power: bigint }[],
): ValidatorSet {
  return createValidatorSet(
    validators.map((v) => ({
      address: accountIdOf({ scheme: 'ed25519', bytes: v.publicKey }),
      publicKey: v.publicKey,
      votingPower: v.power,
    })),
  )
}
export type { ValidatorSet }
