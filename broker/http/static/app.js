// The broker dashboard: one ES module, no build step. Pages are rendered from
// the JSON API under /api/ (docs/http_api.md); charts use uPlot.
import uPlot from "/vendor/uPlot.esm.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
let refreshTimer = 0;
let charts = [];

/** Build an element; strings become text nodes (never HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : String(c ?? ""));
  return el;
}

async function api(path, options = {}) {
  const init = { ...options, headers: { "content-type": "application/json" } };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  const response = await fetch(`/api/${path}`, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

const fmt = (n, digits = 0) =>
  Number(n).toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const bytes = (n) => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${fmt(n, 1)} ${units[i]}`;
};
const duration = (ms) =>
  ms < 1000
    ? `${fmt(ms)} ms`
    : ms < 120000
    ? `${fmt(ms / 1000, 1)} s`
    : `${fmt(ms / 60000, 1)} min`;
const time = (ms) => ms ? new Date(ms).toLocaleString() : "";
const perm = (p) => `${p & 4 ? "R" : "-"}${p & 2 ? "W" : "-"}`;

function card(label, value, id) {
  return h(
    "div",
    { class: "card" },
    h("div", { class: "label" }, label),
    h("div", { class: "value", id }, value),
  );
}

function table(columns, rows) {
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : undefined }, c.label))),
    ),
    h(
      "tbody",
      {},
      rows.length === 0
        ? h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, "none"))
        : rows.map((r) =>
          h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : undefined }, c.cell(r))))
        ),
    ),
  );
}

function showError(error) {
  main.prepend(h("p", { class: "error", role: "alert" }, String(error.message ?? error)));
}

function chart(target, title, series, data) {
  const width = Math.max(300, target.clientWidth - 16);
  const plot = new uPlot(
    {
      title,
      width,
      height: 220,
      series: [
        {},
        ...series.map((label, i) => ({
          label,
          stroke: ["#2f6feb", "#12b76a", "#f79009"][i],
          width: 2,
        })),
      ],
      axes: [{}, { size: 60 }],
    },
    data,
    target,
  );
  charts.push(plot);
}

// ---- pages ----

async function brokerPage() {
  const [b, history, acl] = await Promise.all([api("broker"), api("history"), api("acl")]);
  document.getElementById("title").textContent = `${b.brokerName} · ${b.clusterName}`;
  main.replaceChildren(
    h("h2", {}, "Broker"),
    h(
      "div",
      { class: "cards" },
      card("Role", b.role),
      card("Address", b.address),
      card("Version", b.version),
      card("TPS in", fmt(b.tpsIn, 1), "tps-in"),
      card("TPS out", fmt(b.tpsOut, 1), "tps-out"),
      card("Messages in", fmt(b.totals.messagesIn), "messages-in"),
      card("Disk used", `${fmt(b.diskUsedRatio * 100, 1)} %`),
      card("CommitLog", bytes(b.storeBytes)),
      card("Flush behind", bytes(b.flushBehindBytes)),
      card("Dispatch behind", bytes(b.dispatchBehindBytes)),
      card("Connections", fmt(b.connections)),
      card(
        "Replication lag",
        b.replication === null
          ? "n/a (no slaves)"
          : `${
            bytes(b.replication.lagBytes)
          } (${b.replication.inSync}/${b.replication.slaves} in sync)`,
      ),
    ),
    h(
      "div",
      { class: "charts" },
      h("div", { class: "chart", id: "tps-chart" }),
      h("div", { class: "chart", id: "lag-chart" }),
    ),
  );
  if (acl.enabled) {
    main.append(
      h(
        "h3",
        {},
        `Access control: ${acl.accounts} accounts, ${fmt(acl.deniedTotal)} denied requests`,
      ),
      table([
        { label: "Time", cell: (f) => time(f.timeMs) },
        { label: "Peer", cell: (f) => f.remoteAddress },
        { label: "Access key", cell: (f) => f.accessKey ?? "" },
        { label: "Request", num: true, cell: (f) => f.requestCode },
        { label: "Reason", cell: (f) => f.remark },
      ], acl.recent.slice(0, 20)),
    );
  }
  const pts = history.points;
  const xs = pts.map((p) => p.timeMs / 1000);
  chart(document.getElementById("tps-chart"), "TPS (last hour)", ["in", "out"], [
    xs,
    pts.map((p) => p.tpsIn),
    pts.map((p) => p.tpsOut),
  ]);
  chart(document.getElementById("lag-chart"), "Consumer lag, messages (last hour)", ["lag"], [
    xs,
    pts.map((p) => p.lagMessages),
  ]);
}

async function clusterPage() {
  const c = await api("cluster");
  main.replaceChildren(
    h("h2", {}, "Cluster"),
    h(
      "p",
      { class: "label" },
      c.namesrvAddr === ""
        ? "No name server: this broker alone."
        : `Name servers: ${c.namesrvAddr}`,
    ),
    table([
      { label: "Cluster", cell: (b) => b.clusterName },
      { label: "Broker", cell: (b) => b.self ? `${b.brokerName} (this one)` : b.brokerName },
      { label: "Id", num: true, cell: (b) => b.brokerId },
      { label: "Role", cell: (b) => b.role },
      { label: "Address", cell: (b) => b.address },
      { label: "Status", cell: (b) => b.status === "UP" ? "UP" : `${b.status}: ${b.error ?? ""}` },
      { label: "Version", cell: (b) => b.version ?? "" },
      {
        label: "TPS in",
        num: true,
        cell: (b) => b.tpsIn === null || b.tpsIn === undefined ? "…" : fmt(b.tpsIn, 1),
      },
      {
        label: "Disk used",
        num: true,
        cell: (b) => b.diskUsedRatio === undefined ? "" : `${fmt(b.diskUsedRatio * 100, 1)} %`,
      },
      {
        label: "CommitLog",
        num: true,
        cell: (b) => b.commitLogBytes === undefined ? "" : bytes(b.commitLogBytes),
      },
      { label: "Replication lag", cell: () => "n/a" },
    ], c.brokers),
  );
}

async function topicsPage() {
  const topics = await api("topics");
  const form = h(
    "form",
    { id: "create-topic" },
    h(
      "label",
      {},
      "Topic",
      h("input", { name: "topic", required: true, pattern: "[A-Za-z0-9_%\\|\\-]+" }),
    ),
    h(
      "label",
      {},
      "Read queues",
      h("input", { name: "readQueueNums", type: "number", min: 1, value: 4 }),
    ),
    h(
      "label",
      {},
      "Write queues",
      h("input", { name: "writeQueueNums", type: "number", min: 1, value: 4 }),
    ),
    h(
      "label",
      {},
      "Perm",
      h(
        "select",
        { name: "perm" },
        h("option", { value: 6 }, "RW"),
        h("option", { value: 4 }, "R-"),
        h("option", { value: 2 }, "-W"),
      ),
    ),
    h("button", { type: "submit" }, "Create / update"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      await api("topics", { method: "POST", body: Object.fromEntries(f) });
      await render();
    } catch (error) {
      showError(error);
    }
  });
  main.replaceChildren(
    h("h2", {}, "Topics"),
    form,
    table([
      {
        label: "Topic",
        cell: (t) => h("a", { href: `#/topic/${encodeURIComponent(t.topic)}` }, t.topic),
      },
      { label: "Kind", cell: (t) => t.kind },
      { label: "Type", cell: (t) => t.messageType },
      { label: "Read", num: true, cell: (t) => t.readQueueNums },
      { label: "Write", num: true, cell: (t) => t.writeQueueNums },
      { label: "Perm", cell: (t) => perm(t.perm) },
    ], topics),
  );
}

async function topicPage(name) {
  const t = await api(`topics/${encodeURIComponent(name)}`);
  const del = h("button", { class: "danger", id: "delete-topic" }, "Delete topic");
  del.addEventListener("click", async () => {
    if (!confirm(`Delete topic ${name}?`)) return;
    try {
      await api(`topics/${encodeURIComponent(name)}`, { method: "DELETE" });
      location.hash = "#/topics";
    } catch (error) {
      showError(error);
    }
  });
  const permOption = (value, label) =>
    h("option", { value, selected: t.config.perm === value }, label);
  const update = h(
    "form",
    { id: "update-topic" },
    h(
      "label",
      {},
      "Read queues",
      h("input", { name: "readQueueNums", type: "number", min: 1, value: t.config.readQueueNums }),
    ),
    h(
      "label",
      {},
      "Write queues",
      h("input", {
        name: "writeQueueNums",
        type: "number",
        min: 1,
        value: t.config.writeQueueNums,
      }),
    ),
    h(
      "label",
      {},
      "Perm",
      h("select", { name: "perm" }, permOption(6, "RW"), permOption(4, "R-"), permOption(2, "-W")),
    ),
    h("button", { type: "submit" }, "Update"),
  );
  update.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("topics", {
        method: "POST",
        body: { topic: name, ...Object.fromEntries(new FormData(update)) },
      });
      status.textContent = `Updated ${name}`;
      await render();
    } catch (error) {
      showError(error);
    }
  });
  main.replaceChildren(
    h("h2", {}, `Topic ${name}`),
    h(
      "div",
      { class: "cards" },
      card("Read queues", t.config.readQueueNums),
      card("Write queues", t.config.writeQueueNums),
      card("Perm", perm(t.config.perm)),
    ),
    update,
    h("h3", {}, "Queues"),
    table([
      { label: "Queue", num: true, cell: (q) => q.queueId },
      { label: "Min offset", num: true, cell: (q) => fmt(q.minOffset) },
      { label: "Max offset", num: true, cell: (q) => fmt(q.maxOffset) },
      { label: "Last stored", cell: (q) => time(q.lastStoreTimestamp) },
    ], t.queues),
    h("h3", {}, "Route"),
    h("pre", {}, JSON.stringify(t.route, null, 2)),
    h("p", {}, del),
  );
}

async function groupsPage() {
  const groups = await api("groups");
  main.replaceChildren(
    h("h2", {}, "Consumer groups"),
    table([
      {
        label: "Group",
        cell: (g) => h("a", { href: `#/group/${encodeURIComponent(g.group)}` }, g.group),
      },
      { label: "Model", cell: (g) => g.messageModel },
      { label: "Members", num: true, cell: (g) => g.members },
      { label: "Topics", cell: (g) => g.topics.join(", ") },
      { label: "Lag (messages)", num: true, cell: (g) => fmt(g.lagMessages) },
      { label: "Lag (time)", num: true, cell: (g) => duration(g.lagLatencyMs) },
      { label: "Pop in flight", num: true, cell: (g) => fmt(g.popInFlight) },
    ], groups),
  );
}

async function groupPage(name) {
  const g = await api(`groups/${encodeURIComponent(name)}`);
  const topics = [...new Set(g.queues.map((q) => q.topic))];
  const form = h(
    "form",
    { id: "reset-offset" },
    h(
      "label",
      {},
      "Topic",
      h("select", { name: "topic" }, topics.map((t) => h("option", { value: t }, t))),
    ),
    h("label", {}, "Reset to time", h("input", { name: "time", type: "datetime-local", step: 1 })),
    h("button", { type: "submit" }, "Reset offset"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const at = f.get("time") ? new Date(f.get("time")).getTime() : Date.now();
    try {
      const result = await api(`groups/${encodeURIComponent(name)}/reset`, {
        method: "POST",
        body: { topic: f.get("topic"), timestampMs: at },
      });
      status.textContent = `Reset ${result.offsets.length} queues of ${result.topic}`;
      await render();
    } catch (error) {
      showError(error);
    }
  });
  main.replaceChildren(
    h("h2", {}, `Consumer group ${name}`),
    h(
      "div",
      { class: "cards" },
      card("Members", g.clientIds.length),
      card("Model", g.messageModel ?? "offline"),
      card("Consume type", g.consumeType ?? "offline"),
      card("Queues", g.queues.length),
      card("Pop in flight", fmt(g.popInFlight)),
    ),
    h("h3", {}, "Members"),
    table([{ label: "Client id", cell: (m) => m }], g.clientIds),
    h("h3", {}, "Subscriptions"),
    table([
      { label: "Topic", cell: (x) => x.topic },
      { label: "Expression", cell: (x) => `${x.expressionType} ${x.subString}` },
    ], g.subscriptions),
    h("h3", {}, "Progress"),
    form,
    table([
      { label: "Topic", cell: (q) => q.topic },
      { label: "Queue", num: true, cell: (q) => q.queueId },
      { label: "Broker offset", num: true, cell: (q) => fmt(q.brokerOffset) },
      { label: "Consumer offset", num: true, cell: (q) => fmt(q.consumerOffset) },
      { label: "Lag", num: true, cell: (q) => fmt(q.lagMessages) },
      { label: "Lag (time)", num: true, cell: (q) => duration(q.lagLatencyMs) },
    ], g.queues),
  );
}

function messageView(m) {
  const resend = m.topic.startsWith("%DLQ%")
    ? h("button", {
      onclick: async () => {
        try {
          const r = await api("messages/resend", {
            method: "POST",
            body: { commitLogOffset: m.commitLogOffset },
          });
          status.textContent = `Resent to ${r.topic}`;
        } catch (error) {
          showError(error);
        }
      },
    }, "Resend to retry topic")
    : "";
  return h(
    "div",
    { class: "message card" },
    h(
      "div",
      {},
      h("strong", {}, m.msgId),
      ` · ${m.topic} queue ${m.queueId} offset ${m.queueOffset}`,
    ),
    h(
      "div",
      { class: "label" },
      `stored ${time(m.storeTimestamp)} · born ${time(m.bornTimestamp)} · ${
        bytes(m.bodyBytes)
      } · reconsumed ${m.reconsumeTimes}`,
    ),
    table(
      [{ label: "Property", cell: (p) => p[0] }, { label: "Value", cell: (p) => p[1] }],
      Object.entries(m.properties),
    ),
    h("h3", {}, "Delivery"),
    table(
      [{ label: "Group", cell: (d) => d.group }, { label: "State", cell: (d) => d.state }],
      m.deliveries,
    ),
    h("h3", {}, "Body preview"),
    h("pre", { class: "body" }, m.bodyPreview),
    resend,
  );
}

function messagesPage() {
  const results = h("div", { id: "results" });
  const form = h(
    "form",
    { id: "search" },
    h("label", {}, "Topic", h("input", { name: "topic" })),
    h("label", {}, "Key", h("input", { name: "key" })),
    h("label", {}, "Message id", h("input", { name: "id" })),
    h("label", {}, "From", h("input", { name: "begin", type: "datetime-local" })),
    h("label", {}, "To", h("input", { name: "end", type: "datetime-local" })),
    h("button", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (v === "") continue;
      q.set(k, k === "begin" || k === "end" ? String(new Date(v).getTime()) : v);
    }
    try {
      const { messages } = await api(`messages?${q}`);
      results.replaceChildren(
        h("p", {}, `${messages.length} message(s)`),
        ...messages.map(messageView),
      );
    } catch (error) {
      showError(error);
    }
  });
  main.replaceChildren(h("h2", {}, "Messages"), form, results);
}

// ---- router ----

const pages = {
  broker: brokerPage,
  cluster: clusterPage,
  topics: topicsPage,
  topic: topicPage,
  groups: groupsPage,
  group: groupPage,
  messages: messagesPage,
};

async function render() {
  const [, page = "broker", arg] = location.hash.split("/");
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.page === page || a.dataset.page === `${page}s`);
  }
  for (const c of charts) c.destroy();
  charts = [];
  clearTimeout(refreshTimer);
  try {
    await (pages[page] ?? brokerPage)(arg === undefined ? undefined : decodeURIComponent(arg));
    document.body.dataset.page = page;
  } catch (error) {
    main.replaceChildren();
    showError(error);
  }
  if (page === "broker" || page === "cluster") refreshTimer = setTimeout(render, 5000);
}

addEventListener("hashchange", render);
render();
