// The chat, in the portal widget and on the console's chat page. Loaded by <script src>; no
// inline script (CSP). Every line arrives through the server-sent event stream (EventSource
// resumes after the last id it saw); posts only send, so both sides see the same transcript.
"use strict";

(function () {
  const OPEN_KEY = "tierdesk-chat-open";

  function csrfToken(root) {
    const field = root.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function send(root, url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(root), Accept: "application/json" },
      body: new URLSearchParams(fields || {}),
    }).then(function (response) {
      return response
        .json()
        .catch(function () { return {}; })
        .then(function (answer) {
          if (!response.ok) {
            throw new Error(answer.detail || "The service desk did not accept that (" + response.status + ").");
          }
          return answer;
        });
    });
  }

  function Chat(root) {
    this.root = root;
    this.list = root.querySelector("[data-chat-messages]");
    this.scroller = root.querySelector("[data-chat-scroll]");
    this.source = null;
    this.lastId = 0;
    this.urls = {};
  }

  Chat.prototype.follow = function (urls) {
    if (this.urls.events_url !== urls.events_url) {
      this.list.replaceChildren();
      this.lastId = 0;
    }
    this.urls = urls;
    this.connect();
  };

  Chat.prototype.connect = function () {
    const self = this;
    this.disconnect();
    const url = this.urls.events_url + (this.lastId ? "?after=" + this.lastId : "");
    const source = new EventSource(url);
    source.addEventListener("message", function (event) { self.add(JSON.parse(event.data)); });
    source.addEventListener("status", function (event) { self.status(JSON.parse(event.data)); });
    source.addEventListener("end", function (event) {
      self.status(JSON.parse(event.data));
      self.disconnect();
    });
    this.source = source;
  };

  Chat.prototype.disconnect = function () {
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  };

  Chat.prototype.add = function (message) {
    if (message.id <= this.lastId || this.list.querySelector('[data-message-id="' + message.id + '"]')) {
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = message.html.trim();
    const line = template.content.firstElementChild;
    if (!line) return;
    this.list.appendChild(line);
    this.lastId = message.id;
    if (window.htmx) window.htmx.process(line);
    if (this.root.dataset.status && this.root.dataset.status !== "bot") this.freezeButtons();
    if (this.scroller) this.scroller.scrollTop = this.scroller.scrollHeight;
  };

  Chat.prototype.freezeButtons = function () {
    this.list.querySelectorAll("[data-chat-action], [data-chat-form-button]").forEach(function (button) {
      button.disabled = true;
    });
  };

  Chat.prototype.status = function (state) {
    this.root.dataset.status = state.status;
    const badge = this.root.querySelector("[data-chat-status]");
    if (badge) badge.textContent = state.label;
    const closed = state.status === "closed";
    this.root.querySelectorAll("[data-chat-composer] input, [data-chat-composer] button").forEach(function (el) {
      el.disabled = closed;
    });
    const person = this.root.querySelector("[data-chat-person]");
    if (person) person.hidden = state.status !== "bot";
    const close = this.root.querySelector("[data-chat-close]");
    if (close) close.hidden = closed;
    const restart = this.root.querySelector("[data-chat-restart]");
    if (restart) restart.hidden = !closed;
    if (state.status !== "bot") this.freezeButtons();
  };

  Chat.prototype.error = function (text) {
    const box = this.root.querySelector("[data-chat-error]");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  };

  Chat.prototype.post = function (url, fields) {
    const self = this;
    self.error("");
    return send(this.root, url, fields).catch(function (problem) {
      self.error(problem.message);
      throw problem;
    });
  };

  Chat.prototype.bind = function () {
    const self = this;
    const root = this.root;
    const composer = root.querySelector("[data-chat-composer]");
    if (composer) {
      composer.addEventListener("submit", function (event) {
        event.preventDefault();
        const input = composer.querySelector("input[name=body]");
        const body = input.value.trim();
        if (!body) return;
        input.value = "";
        self.post(self.urls.post_url, { body: body }).catch(function () { input.value = body; });
      });
    }
    root.addEventListener("click", function (event) {
      const target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      const action = target.closest("[data-chat-action]");
      if (action && !action.disabled) {
        action.disabled = true;
        self
          .post(self.urls.actions_url, { action: action.dataset.chatAction, payload: action.dataset.payload || "{}" })
          .catch(function () { action.disabled = false; });
        return;
      }
      if (target.closest("[data-chat-person]")) {
        self.post(self.urls.actions_url, { action: "person", payload: "{}" }).catch(function () {});
        return;
      }
      if (target.closest("[data-chat-close]")) {
        self.post(self.urls.close_url, {}).catch(function () {});
      }
    });
  };

  // --- the portal widget -------------------------------------------------------------------

  function setUpWidget(root) {
    const chat = new Chat(root);
    chat.bind();
    const launcher = root.querySelector("[data-chat-open]");
    const panel = root.querySelector("#chat-panel");

    function start() {
      return chat.post(root.dataset.startUrl, {}).then(function (urls) {
        chat.follow(urls);
        chat.status({ status: urls.status, label: urls.status_label });
      });
    }

    function open() {
      panel.hidden = false;
      launcher.hidden = true;
      launcher.setAttribute("aria-expanded", "true");
      sessionStorage.setItem(OPEN_KEY, "1");
      start().then(function () {
        const input = root.querySelector("#chat-input");
        if (input) input.focus();
      }).catch(function () {});
    }

    function hide() {
      panel.hidden = true;
      launcher.hidden = false;
      launcher.setAttribute("aria-expanded", "false");
      sessionStorage.removeItem(OPEN_KEY);
      chat.disconnect(); // frees the server's thread; opening again resumes after the last line
    }

    launcher.addEventListener("click", open);
    root.querySelector("[data-chat-hide]").addEventListener("click", hide);
    root.querySelector("[data-chat-restart]").addEventListener("click", function () {
      root.querySelector("[data-chat-form-slot]").replaceChildren();
      start().catch(function () {});
    });
    if (sessionStorage.getItem(OPEN_KEY) === "1") open(); // the chat follows the requester across pages
  }

  // --- the console's chat page ----------------------------------------------------------------

  function setUpPage(root) {
    const chat = new Chat(root);
    chat.bind();
    chat.follow({
      events_url: root.dataset.eventsUrl,
      post_url: root.dataset.postUrl,
      close_url: root.dataset.closeUrl,
      actions_url: "",
    });
  }

  function init() {
    document.querySelectorAll("[data-chat-widget]").forEach(setUpWidget);
    document.querySelectorAll("[data-chat-page]").forEach(setUpPage);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
