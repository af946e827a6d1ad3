// The message bar and the confirmation dialog.
import { $ } from './util';

/** Shows (or hides) the message bar; `relogin` adds a "Log in again" button. */
export function alertMsg(text: string | null, relogin = false) {
  $('alert').hidden = !text;
  $('alert-text').textContent = text ?? '';
  $('alert-relogin').hidden = !text || !relogin;
}

// Resolved from the button that submitted the dialog's form (or Esc), synchronously: the
// dialog's `close` event is queued, and one from an earlier use can arrive after the next
// showModal(), so it must not decide anything.
let dialogDone: ((ok: boolean) => void) | null = null;

export function wireDialogs() {
  $('alert-close').addEventListener('click', () => alertMsg(null));
  const dlg = $<HTMLDialogElement>('confirm-dialog');
  const finish = (ok: boolean) => {
    const done = dialogDone;
    dialogDone = null;
    done?.(ok);
  };
  dlg.querySelector('form')!.addEventListener('submit', (ev) => finish((ev as SubmitEvent).submitter?.getAttribute('value') === 'ok'));
  dlg.addEventListener('cancel', () => finish(false));
  dlg.addEventListener('close', () => {
    if (!dlg.open) finish(dlg.returnValue === 'ok');
  });
}

export function confirmDialog(title: string, text: string, cmd: string, okLabel: string): Promise<boolean> {
  const dlg = $<HTMLDialogElement>('confirm-dialog');
  dialogDone?.(false);
  const back = document.activeElement as HTMLElement | null;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-cmd').textContent = cmd;
  $('confirm-cmd').hidden = !cmd;
  $('confirm-ok').textContent = okLabel;
  dlg.returnValue = '';
  if (!dlg.open) dlg.showModal();
  $('confirm-cancel').focus();
  return new Promise((res) => {
    dialogDone = (ok) => {
      back?.focus({ preventScroll: true });
      res(ok);
    };
  });
}
