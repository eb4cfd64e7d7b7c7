/**
 * What a person does with an event: open it as a document, copy it or its id, reveal its
 * record in the ledger file at its line, jump to an id, filter the Ledgers view by type and
 * text, follow new events, and load the next page.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventLineRequest, EventRawRequest, EventRequest, type EventItem } from '../../protocol';
import { eventUri } from '../event-documents';
import { baseName } from '../format';
import { pathOf, pickLedger } from '../targets';
import { EventNode } from '../views/event-pages';
import { RecoveryNode } from '../views/recovery-log-view';
import type { Command, CommandContext } from './command';

interface EventRef {
  ledger: string;
  event: EventItem;
}

/** The event a command was given (a node of the Ledgers or Recovery Log view), else the one selected. */
function refOf(ctx: CommandContext, arg: unknown): EventRef | undefined {
  if (arg instanceof EventNode) return { ledger: arg.ledger, event: arg.event };
  if (arg instanceof RecoveryNode) {
    const r = arg.recovery;
    return { ledger: r.source, event: { id: r.id, ts: r.ts, type: r.type, data: r.data, offset: -1, length: 0 } };
  }
  const selected = ctx.ledgers.view.selection.find((n): n is EventNode => n instanceof EventNode);
  return selected ? { ledger: selected.ledger, event: selected.event } : undefined;
}

/**
 * Where the event's record is in its ledger: a node of the Ledgers view carries it; a recovery
 * (offset -1) is looked up in the log itself. Offset -1 when the record is no longer there.
 */
async function placeOf(client: LanguageClient, ref: EventRef): Promise<{ offset: number; length: number; line?: number }> {
  const { offset, length, line } = ref.event;
  if (offset >= 0) return { offset, length, ...(line !== undefined ? { line } : {}) };
  const full = await client.sendRequest(EventRequest.type, { ledger: ref.ledger, id: String(ref.event.id) });
  return { offset: full?.offset ?? -1, length: full?.length ?? 0, ...(full?.line !== undefined ? { line: full.line } : {}) };
}

async function openEvent(_ctx: CommandContext, arg?: unknown): Promise<vscode.TextDocument | undefined> {
  let ledger: string | undefined;
  let id: string | undefined;
  if (arg instanceof EventNode) [ledger, id] = [arg.ledger, String(arg.event.id)];
  else if (arg instanceof RecoveryNode) [ledger, id] = [arg.recovery.source, String(arg.recovery.id)];
  else if (arg && typeof arg === 'object' && 'ledger' in arg && 'id' in arg) {
    const a = arg as { ledger: unknown; id: unknown };
    [ledger, id] = [pathOf(a.ledger), String(a.id)];
  }
  if (!ledger || id === undefined) {
    void vscode.window.showInformationMessage('Ledgerlock: choose an event in the Ledgers or Recovery Log view to open it.');
    return undefined;
  }
  const doc = await vscode.workspace.openTextDocument(eventUri(ledger, id));
  await vscode.languages.setTextDocumentLanguage(doc, 'json');
  await vscode.window.showTextDocument(doc, { preview: true });
  return doc;
}

/** Copies the event's line exactly as the file holds it (its bytes as text, no newline), not a rebuilt object. */
async function copyEventJson(ctx: CommandContext, arg?: unknown): Promise<string | undefined> {
  const ref = refOf(ctx, arg);
  const client = ctx.client();
  if (!ref || !client) return undefined;
  const { offset, length } = await placeOf(client, ref);
  const raw = offset >= 0 ? await client.sendRequest(EventRawRequest.type, { ledger: ref.ledger, offset, length }) : { text: null, error: 'no such record' };
  if (raw.text === null) {
    vscode.window.setStatusBarMessage(
      `$(info) Ledgerlock: could not copy event #${ref.event.id} of ${baseName(ref.ledger)}: ${raw.error ?? 'no such record'}`,
      10_000,
    );
    return undefined;
  }
  await vscode.env.clipboard.writeText(raw.text);
  vscode.window.setStatusBarMessage(`$(copy) Ledgerlock: copied event #${ref.event.id} of ${baseName(ref.ledger)} as it is in the file`, 5000);
  return raw.text;
}

async function copyEventId(ctx: CommandContext, arg?: unknown): Promise<string | undefined> {
  const ref = refOf(ctx, arg);
  if (!ref) return undefined;
  const text = String(ref.event.id);
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`$(copy) Ledgerlock: copied event id ${text}`, 5000);
  return text;
}

/** Opens the ledger file with the cursor on the event's record. */
async function revealEvent(ctx: CommandContext, arg?: unknown): Promise<vscode.TextEditor | undefined> {
  const ref = refOf(ctx, arg);
  const client = ctx.client();
  if (!ref || !client) return undefined;
  let line = ref.event.line;
  if (line === undefined) {
    const place = await placeOf(client, ref);
    line = place.line;
    const offset = place.offset;
    if (line === undefined && offset >= 0) {
      const reply = await client.sendRequest(EventLineRequest.type, { ledger: ref.ledger, offset });
      if (reply.line === null) {
        vscode.window.setStatusBarMessage(
          `$(info) Ledgerlock: could not find event #${ref.event.id} in ${baseName(ref.ledger)}: ${reply.error ?? 'no such record'}`,
          10_000,
        );
        return undefined;
      }
      line = reply.line;
    }
  }
  if (line === undefined) return undefined;
  const position = new vscode.Position(line - 1, 0);
  return vscode.window.showTextDocument(vscode.Uri.file(ref.ledger), { selection: new vscode.Range(position, position), preview: true });
}

/** Older events loaded at most to reach an id (Go to Event Id): 100 pages of 50. */
const GO_TO_MAX_EVENTS = 5_000;

/**
 * "Go to Event Id…": selects the event's row in the Ledgers view, loading older pages until it
 * is there (at most GO_TO_MAX_EVENTS events; beyond, it says so and offers the event's document).
 */
async function goToEvent(ctx: CommandContext, arg?: unknown, idArg?: string): Promise<EventNode | undefined> {
  const ledger = await pickLedger(ctx.state, arg, () => false, 'Go to an event of which ledger?');
  if (!ledger) return undefined;
  const id =
    idArg ??
    (
      await vscode.window.showInputBox({
        title: `Go to Event Id in ${baseName(ledger)}`,
        prompt: 'The id of the event (for plain JSONL files, its line number)',
        validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'A whole number'),
      })
    )?.trim();
  if (!id) return undefined;
  const client = ctx.client();
  const event = client ? await client.sendRequest(EventRequest.type, { ledger, id }) : null;
  if (!event) {
    vscode.window.setStatusBarMessage(`$(info) Ledgerlock: ${baseName(ledger)} has no event #${id}`, 10_000);
    return undefined;
  }
  const { ledgers } = ctx;
  const ledgerNode = ledgers.ledgerNode(ledger);
  if (!ledgerNode) return undefined;
  await vscode.commands.executeCommand('workbench.view.extension.ledgerlock');
  if (ledgers.filter) ledgers.setFilter(undefined); // a filter could hide the event
  // The first page is read by the view's own look at the ledger's children.
  await ledgers.getChildren(ledgerNode);
  let node = ledgers.eventNode(ledger, id);
  while (!node && ledgers.hasMore(ledger) && ledgers.loaded(ledger).length < GO_TO_MAX_EVENTS && isOlderThanLoaded(ledgers.loaded(ledger), event.id)) {
    await ledgers.loadMore(ledger);
    node = ledgers.eventNode(ledger, id);
  }
  if (!node) {
    const open = 'Open as Document';
    const pick = await vscode.window.showInformationMessage(
      `Ledgerlock: event #${id} of ${baseName(ledger)} is more than ${GO_TO_MAX_EVENTS.toLocaleString()} events back from the newest, further than the Ledgers view loads to reach it.`,
      open,
    );
    if (pick === open) await vscode.commands.executeCommand('ledgerlock.openEvent', { ledger, id });
    return undefined;
  }
  await ledgers.view.reveal(node, { select: true, focus: true, expand: true });
  return node;
}

function isOlderThanLoaded(loaded: readonly EventItem[], id: number | string): boolean {
  const oldest = loaded.at(-1)?.id;
  return oldest === undefined || (typeof id === 'number' && typeof oldest === 'number' ? id < oldest : String(id) < String(oldest));
}

async function filterEvents(ctx: CommandContext): Promise<void> {
  const { ledgers } = ctx;
  const current = ledgers.filter;
  const known = [...new Set([...ledgers.knownTypes(), ...(current?.types ?? [])])].sort();
  let types: string[] | undefined = current?.types;
  if (known.length > 0) {
    const picked = await vscode.window.showQuickPick(
      known.map((t) => ({ label: t, picked: current?.types?.includes(t) ?? false })),
      { title: 'Filter Events: types (none picked = every type)', canPickMany: true },
    );
    if (picked === undefined) return;
    types = picked.map((p) => p.label);
  }
  const text = await vscode.window.showInputBox({
    title: 'Filter Events: text',
    prompt: 'Show events whose type, id, time or data contain this text (empty: any)',
    value: current?.text ?? '',
  });
  if (text === undefined) return;
  ledgers.setFilter({ ...(types && types.length > 0 ? { types } : {}), ...(text.trim() ? { text: text.trim() } : {}) });
}

export const EVENT_COMMANDS: readonly Command[] = [
  { id: 'ledgerlock.openEvent', run: openEvent },
  { id: 'ledgerlock.copyEventJson', run: copyEventJson },
  { id: 'ledgerlock.copyEventId', run: copyEventId },
  { id: 'ledgerlock.revealEvent', run: revealEvent },
  { id: 'ledgerlock.goToEvent', run: goToEvent },
  { id: 'ledgerlock.filterEvents', run: filterEvents },
  { id: 'ledgerlock.clearEventFilter', run: (ctx) => ctx.ledgers.setFilter(undefined) },
  { id: 'ledgerlock.followEvents', run: (ctx) => ctx.ledgers.setFollow(true) },
  { id: 'ledgerlock.pauseEvents', run: (ctx) => ctx.ledgers.setFollow(false) },
  { id: 'ledgerlock.loadMore', run: (ctx, ledger: string) => ctx.ledgers.loadMore(ledger) },
];
