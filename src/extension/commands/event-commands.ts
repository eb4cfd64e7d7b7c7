/**
 * What a person does with an event: copy it or its id, reveal its record in the ledger file
 * at its line, jump to an id, filter the Ledgers view by type and text, and follow new events.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventLineRequest, EventRequest, type EventItem } from '../protocol';
import { eventJson } from './event-documents';
import { baseName } from './format';
import type { ServerState } from './server-state';
import { pickLedger } from './targets';
import { EventNode, type LedgersView } from './views/ledgers-view';
import { RecoveryNode } from './views/recoveries-view';

export interface EventCommandContext {
  client: () => LanguageClient | undefined;
  state: ServerState;
  ledgers: LedgersView;
  log: vscode.LogOutputChannel;
}

interface EventRef {
  ledger: string;
  event: EventItem;
}

export function registerEventCommands(ctx: EventCommandContext): vscode.Disposable[] {
  const { ledgers } = ctx;

  const refOf = (arg: unknown): EventRef | undefined => {
    if (arg instanceof EventNode) return { ledger: arg.ledger, event: arg.event };
    if (arg instanceof RecoveryNode) {
      const r = arg.recovery;
      return { ledger: r.source, event: { id: r.id, ts: r.ts, type: r.type, data: r.data, offset: -1, length: 0 } };
    }
    const selected = ledgers.view.selection.find((n): n is EventNode => n instanceof EventNode);
    return selected ? { ledger: selected.ledger, event: selected.event } : undefined;
  };

  async function copyEventJson(arg?: unknown): Promise<string | undefined> {
    const ref = refOf(arg);
    if (!ref) return undefined;
    const text = JSON.stringify(eventJson(ref.event), null, 2);
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`$(copy) Ledgerlock: copied event #${ref.event.id} of ${baseName(ref.ledger)} as JSON`, 5000);
    return text;
  }

  async function copyEventId(arg?: unknown): Promise<string | undefined> {
    const ref = refOf(arg);
    if (!ref) return undefined;
    const text = String(ref.event.id);
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`$(copy) Ledgerlock: copied event id ${text}`, 5000);
    return text;
  }

  /** Opens the ledger file with the cursor on the event's record. */
  async function revealEvent(arg?: unknown): Promise<vscode.TextEditor | undefined> {
    const ref = refOf(arg);
    const client = ctx.client();
    if (!ref || !client) return undefined;
    let line = ref.event.line;
    if (line === undefined) {
      let offset = ref.event.offset;
      if (offset < 0) {
        // A recovery: its offset comes from the log itself.
        const full = await client.sendRequest(EventRequest.type, { ledger: ref.ledger, id: String(ref.event.id) });
        offset = full?.offset ?? -1;
        line = full?.line;
      }
      if (line === undefined && offset >= 0) {
        const reply = await client.sendRequest(EventLineRequest.type, { ledger: ref.ledger, offset });
        if (reply.line === null) {
          vscode.window.setStatusBarMessage(`$(info) Ledgerlock: could not find event #${ref.event.id} in ${baseName(ref.ledger)}: ${reply.error ?? 'no such record'}`, 10_000);
          return undefined;
        }
        line = reply.line;
      }
    }
    if (line === undefined) return undefined;
    const position = new vscode.Position(line - 1, 0);
    return vscode.window.showTextDocument(vscode.Uri.file(ref.ledger), { selection: new vscode.Range(position, position), preview: true });
  }

  /** "Go to Event Id…": opens the event's document and selects it in the view when loaded. */
  async function goToEvent(arg?: unknown, idArg?: string): Promise<vscode.TextDocument | undefined> {
    const ledger = await pickLedger(ctx.state, arg, () => false, 'Go to an event of which ledger?');
    if (!ledger) return undefined;
    const id = idArg ?? (await vscode.window.showInputBox({
      title: `Go to Event Id in ${baseName(ledger)}`,
      prompt: 'The id of the event (for plain JSONL files, its line number)',
      validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'A whole number'),
    }))?.trim();
    if (!id) return undefined;
    const client = ctx.client();
    const event = client ? await client.sendRequest(EventRequest.type, { ledger, id }) : null;
    if (!event) {
      vscode.window.setStatusBarMessage(`$(info) Ledgerlock: ${baseName(ledger)} has no event #${id}`, 10_000);
      return undefined;
    }
    const node = ledgers.eventNode(ledger, id);
    if (node) await ledgers.view.reveal(node, { select: true, focus: false });
    return vscode.commands.executeCommand<vscode.TextDocument>('ledgerlock.openEvent', { ledger, id });
  }

  async function filterEvents(): Promise<void> {
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

  return [
    vscode.commands.registerCommand('ledgerlock.copyEventJson', copyEventJson),
    vscode.commands.registerCommand('ledgerlock.copyEventId', copyEventId),
    vscode.commands.registerCommand('ledgerlock.revealEvent', revealEvent),
    vscode.commands.registerCommand('ledgerlock.goToEvent', goToEvent),
    vscode.commands.registerCommand('ledgerlock.filterEvents', filterEvents),
    vscode.commands.registerCommand('ledgerlock.clearEventFilter', () => ledgers.setFilter(undefined)),
    vscode.commands.registerCommand('ledgerlock.followEvents', () => ledgers.setFollow(true)),
    vscode.commands.registerCommand('ledgerlock.pauseEvents', () => ledgers.setFollow(false)),
  ];
}
