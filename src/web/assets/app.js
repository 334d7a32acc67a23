// mailplane dashboard: progressive enhancement only. Every page works without
// this file; with it, copy buttons copy, dangerous forms ask first, and the
// provisioning checklist follows the server's event stream live.
'use strict';

function announce(text) {
  let live = document.getElementById('live-announcer');
  if (!live) {
    live = document.createElement('div');
    live.id = 'live-announcer';
    live.setAttribute('role', 'status');
    live.className = 'skip';
    document.body.appendChild(live);
  }
  live.textContent = text;
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(
    () => {
      const before = button.textContent;
      button.textContent = 'Copied';
      announce('Copied to the clipboard');
      setTimeout(() => {
        button.textContent = before;
      }, 1500);
    },
    () => announce('Copying failed: select the text and copy it by hand'),
  );
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// data-href: a new navigation started by this page (same-site, so the Strict session cookie goes along);
// a reload would keep the cross-site context of the arrival.
for (const el of document.querySelectorAll('[data-refresh]')) {
  setTimeout(() => (el.dataset.href ? window.location.assign(el.dataset.href) : window.location.reload()), Number(el.dataset.refresh) * 1000);
}

const MARKS = { succeeded: '✓', failed: '✗', pending: '○', queued: '○', waiting: '⏸' };

function formatDuration(ms) {
  if (ms == null) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function stepItem(list, name) {
  let li = list.querySelector(`li[data-step="${CSS.escape(name)}"]`);
  if (!li) {
    li = document.createElement('li');
    li.dataset.step = name;
    li.innerHTML =
      '<span class="mark" aria-hidden="true"></span> <strong class="label"></strong> <span class="state"></span> <span class="meta hint"></span><div class="err bad"></div>';
    li.querySelector('.label').textContent = name;
    list.appendChild(li);
  }
  return li;
}

function paintStep(li, step) {
  const status = step.status;
  const mark = li.querySelector('.mark');
  mark.className = `mark ${status}`;
  mark.innerHTML = status === 'running' || status === 'retrying' ? '<span class="spinner"></span>' : MARKS[status] || '○';
  const state = li.querySelector('.state');
  state.textContent = status;
  state.className = `state pill ${status}`;
  const meta = [];
  if (step.attempt) meta.push(`attempt ${step.attempt}`);
  if (step.durationMs != null) meta.push(formatDuration(step.durationMs));
  li.querySelector('.meta').textContent = meta.join(' · ');
  li.querySelector('.err').textContent = step.error || '';
}

function followChecklist(list) {
  const status = document.getElementById('server-status');
  const source = new EventSource(list.dataset.events);
  const steps = new Map();
  const update = (name, patch) => {
    const step = { ...(steps.get(name) || { name, status: 'pending' }), ...patch };
    steps.set(name, step);
    paintStep(stepItem(list, name), step);
  };
  source.addEventListener('snapshot', (e) => {
    const server = JSON.parse(e.data);
    for (const step of server.steps) update(step.name, step);
    if (status) {
      status.textContent = server.status;
      status.className = `pill ${server.status}`;
    }
    list.setAttribute('aria-busy', server.status === 'provisioning' || server.status === 'waiting' ? 'true' : 'false');
  });
  const onStep = (status) => (e) => {
    const ev = JSON.parse(e.data);
    const patch = { status, attempt: ev.attempt, error: ev.error || null };
    if (status === 'succeeded' || status === 'failed') {
      const started = steps.get(ev.step)?.startedAt;
      if (started) patch.durationMs = Date.parse(ev.at) - Date.parse(started);
    } else if (status === 'running') patch.startedAt = ev.at;
    update(ev.step, patch);
    announce(`${ev.step} ${status}`);
  };
  source.addEventListener('step.started', onStep('running'));
  source.addEventListener('step.retrying', onStep('retrying'));
  source.addEventListener('step.succeeded', onStep('succeeded'));
  source.addEventListener('step.failed', onStep('failed'));
  // A step waiting on a person: the page's "Waiting for you" card says what to do; reload to show it.
  source.addEventListener('step.waiting', (e) => {
    onStep('waiting')(e);
    if (!document.getElementById('warn-h')) setTimeout(() => window.location.reload(), 800);
  });
  source.addEventListener('step.wait_over', onStep('running'));
  // A finished run changes what the page offers (mailboxes, DNS, health): reload it once.
  // 'end': the server has no run in progress any more; EventSource would otherwise reconnect forever.
  for (const type of ['run.succeeded', 'run.failed', 'end']) {
    source.addEventListener(type, () => {
      source.close();
      setTimeout(() => window.location.reload(), 800);
    });
  }
}

const checklist = document.getElementById('checklist');
if (checklist?.dataset.events) followChecklist(checklist);
