// Human messages for the package's TerrapinError kinds.
import { isTerrapinError } from 'terrapin-web';

export type Context = 'login' | 'register' | 'sync' | 'unlock' | 'delete' | 'import' | 'other';

export function errorKind(e: unknown): string | undefined {
  return isTerrapinError(e) ? e.kind : undefined;
}

export function describe(e: unknown, ctx: Context): string {
  if (!isTerrapinError(e)) return `Something went wrong: ${e instanceof Error ? e.message : String(e)}`;
  const status = e.status ? ` (HTTP ${e.status})` : '';
  switch (e.kind) {
    case 'network':
      return ctx === 'sync'
        ? "Offline: the server can't be reached. Everything already synced is still here."
        : "The server can't be reached. Check the server URL and your connection.";
    case 'unauthorized':
      if (ctx === 'login') return 'Wrong username or password.';
      if (ctx === 'register') return 'The server refused to create the account' + status + '.';
      return 'The server no longer accepts this session: log out and log in again.';
    case 'not_found':
      return ctx === 'login' ? 'No account with that username on this server.' : `Not found${status}: is this the right server URL?`;
    case 'conflict':
      return ctx === 'register' ? 'That username or email is already taken.' : `The server reported a conflict${status}: ${e.message}`;
    case 'refused':
      return ctx === 'register' ? `The server refused the registration: ${e.message}` : `The server refused the request: ${e.message}`;
    case 'rate_limited':
      return 'Too many attempts: wait a few minutes and try again.';
    case 'server':
    case 'bad_response':
      return `The server had a problem${status}. Try again later. (${e.message})`;
    case 'wrong_key':
      return "Wrong key: this Atuin key can't read the account's records. Paste the key `atuin key` prints on a synced machine.";
    case 'bad_key':
      return "That isn't an Atuin key: paste the 24 words `atuin key` prints, or its --base64 form.";
    case 'no_key':
      return 'No key is set: log in again with your Atuin key.';
    case 'wrong_passphrase':
      return 'Wrong passphrase.';
    case 'no_session':
      return 'Not logged in: log in again.';
    case 'busy':
      return 'A sync is already running.';
    case 'aborted':
      return 'Cancelled.';
    case 'store':
      return `This browser's storage failed: ${e.message}`;
    default:
      return e.message || e.kind;
  }
}
