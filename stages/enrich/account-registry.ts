import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import type { Account } from '../../schemas/account-registry.ts';

export interface AccountLookup {
  readonly account: Account;
  /** False when the account is not in the registry and got the defaults: flagged, never dropped. */
  readonly known: boolean;
}

/** Account id -> name, environment, owner team, Slack channel. */
export class AccountRegistry {
  #accounts: ReadonlyMap<string, Account> = new Map();
  #defaults: AccountRegistryFile['defaults'] = AccountRegistryFile.parse({}).defaults;

  constructor(file: AccountRegistryFile) {
    this.replace(file);
  }

  /** Swaps in a new registry (an accounts sync changed it): lookups from now on see it, enrich stages keep their reference. */
  replace(file: AccountRegistryFile): void {
    this.#accounts = new Map(
      file.accounts.map((account) => [account.id, { ...account, slackChannel: account.slackChannel ?? file.defaults.slackChannel }]),
    );
    this.#defaults = file.defaults;
  }

  static empty(): AccountRegistry {
    return new AccountRegistry(AccountRegistryFile.parse({}));
  }

  lookup(accountId: string): AccountLookup {
    const account = this.#accounts.get(accountId);
    if (account) return { account, known: true };
    return {
      account: { id: accountId, name: accountId, environment: this.#defaults.environment, owner: this.#defaults.owner, slackChannel: this.#defaults.slackChannel },
      known: false,
    };
  }

  get accounts(): readonly Account[] {
    return [...this.#accounts.values()];
  }
}
