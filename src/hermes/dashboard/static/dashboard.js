// The dashboard's only script: loaded from /static (the CSP allows no inline script), no library, no build.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;

// Forms that destroy something ask first (delegated: live pages replace their forms).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// Pages with live figures (Overview, Cron jobs) fetch themselves again and swap in the new content,
// unless the operator is typing in a form there.
const live = document.querySelector("main[data-refresh]");
if (live) {
  window.setInterval(async () => {
    if (live.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return;
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("main");
    if (fresh) live.replaceChildren(...fresh.childNodes);
  }, Number(live.dataset.refresh) * 1000);
}

// Memory editors: a live count against the file's limit, as the server will count it.
function memorySize(text, entries) {
  if (entries) {
    const parts = text.split(/^\s*§\s*$/m).map((p) => p.trim()).filter((p) => p);
    return parts.length ? parts.join("\n§\n").length + 1 : 0;
  }
  return text.trim().length;
}
for (const area of document.querySelectorAll("textarea[data-limit]")) {
  const used = area.form.querySelector(".used");
  const count = area.form.querySelector(".count");
  const limit = Number(area.dataset.limit);
  const update = () => {
    const size = memorySize(area.value, area.dataset.entries === "yes");
    used.textContent = String(size);
    count.classList.toggle("over", size > limit);
  };
  area.addEventListener("input", update);
  update();
}

// Logs: follow the file live.
const log = document.getElementById("log");
if (log && log.dataset.stream) {
  const follow = document.getElementById("follow");
  const source = new EventSource(log.dataset.stream);
  source.onmessage = (event) => {
    if (!follow.checked) return;
    log.append(JSON.parse(event.data).text + "\n");
    log.scrollTop = log.scrollHeight;
    const empty = document.getElementById("log-empty");
    if (empty) empty.remove();
  };
}

// Chat: one turn per POST, its events read from the streamed answer.
async function* serverEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}

function bubble(list, role, text) {
  const item = document.createElement("li");
  item.className = "msg role-" + role;
  const pre = document.createElement("pre");
  pre.className = "content";
  pre.textContent = text;
  item.append(pre);
  list.append(item);
  return pre;
}

function approvalButtons(list, event) {
  const item = document.createElement("li");
  item.className = "approval";
  const question = document.createElement("pre");
  question.textContent = event.prompt;
  item.append(question);
  for (const [label, answer] of [["Approve", true], ["Refuse", false]]) {
    const button = document.createElement("button");
    button.textContent = label;
    button.className = answer ? "approve" : "danger";
    button.addEventListener("click", async () => {
      for (const b of item.querySelectorAll("button")) b.disabled = true;
      const response = await fetch("/chat/approve", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ id: event.id, approve: answer }),
      });
      const note = document.createElement("p");
      note.textContent = response.ok
        ? (answer ? "Approved." : "Refused.")
        : "Too late: the question is no longer waiting for an answer (no answer counts as a refusal).";
      item.append(note);
      item.classList.add(response.ok ? (answer ? "approved" : "refused") : "expired");
    });
    item.append(button);
  }
  list.append(item);
}

const chatForm = document.getElementById("chat-form");
if (chatForm) {
  const list = document.getElementById("chat");
  const input = document.getElementById("chat-text");
  const send = document.getElementById("chat-send");
  chatForm.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send.disabled = true;
    bubble(list, "user", text);
    const answer = bubble(list, "assistant", "");
    answer.parentElement.classList.add("streaming");
    const tools = new Map();
    try {
      const response = await fetch("/chat/send", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ session: list.dataset.session, text }),
      });
      if (!response.ok) throw new Error(await response.text());
      for await (const event of serverEvents(response)) {
        if (event.type === "delta") answer.textContent += event.text;
        else if (event.type === "tool_started") {
          const item = document.createElement("li");
          item.className = "tool running";
          item.textContent = "⚙ " + event.name + " …";
          list.insertBefore(item, answer.parentElement);
          tools.set(event.id, item);
        } else if (event.type === "tool_finished") {
          const item = tools.get(event.id);
          if (item) {
            item.className = "tool " + (event.ok ? "ok" : "failed");
            item.textContent = (event.ok ? "✓ " : "✗ ") + event.name + ": " + event.summary;
          }
        } else if (event.type === "approval") approvalButtons(list, event);
        else if (event.type === "final") answer.textContent = event.text;
        else if (event.type === "failed") {
          answer.textContent = event.message;
          answer.parentElement.classList.add("failed");
        }
      }
    } catch (error) {
      answer.textContent = String(error.message || error);
      answer.parentElement.classList.add("failed");
    } finally {
      answer.parentElement.classList.remove("streaming");
      answer.parentElement.classList.add("done");
      send.disabled = false;
      input.focus();
    }
  });
}
