"use strict";
// capgate's docs page: reads openapi.json and renders every route with a form that calls it.
// Data from the description is only ever set as text, never parsed as HTML.
(() => {
  const METHODS = ["get", "post", "put", "patch", "delete"];
  const TOKEN_KEY = "capgate-docs-token";

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  async function main() {
    const routes = document.getElementById("routes");
    let spec;
    try {
      const response = await fetch("openapi.json", { headers: { accept: "application/json" } });
      if (!response.ok) throw new Error(`openapi.json answered HTTP ${response.status}`);
      spec = await response.json();
    } catch (error) {
      routes.replaceChildren(el("p", { class: "error", text: `Cannot load the API description: ${error.message}` }));
      return;
    }
    header(spec);
    const tags = spec.tags || [{ name: "routes" }];
    routes.replaceChildren(...tags.map((tag) => section(spec, tag)).filter(Boolean));
    document.body.dataset.ready = "true";
    openFromHash();
  }

  function header(spec) {
    document.title = `${spec.info.title} · API docs`;
    document.getElementById("title").textContent = spec.info.title;
    document.getElementById("version").textContent = `version ${spec.info.version} · OpenAPI ${spec.openapi}`;
    document.getElementById("description").textContent = spec.info.description || "";
    const token = document.getElementById("token");
    token.value = sessionStorage.getItem(TOKEN_KEY) || "";
    token.addEventListener("change", () => sessionStorage.setItem(TOKEN_KEY, token.value.trim()));
  }

  function section(spec, tag) {
    const items = [];
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {  // in the document's order
        if (METHODS.includes(method) && (op.tags || ["routes"]).includes(tag.name)) items.push(route(path, method, op));
      }
    }
    if (items.length === 0) return null;
    return el("section", {}, el("h2", { text: tag.name }), el("p", { class: "muted", text: tag.description || "" }),
      el("ul", { class: "route-list" }, ...items));
  }

  function route(path, method, op) {
    const verb = method.toUpperCase();
    const parameters = op.parameters || [];
    const body = op.requestBody ? bodyField(op.requestBody) : null;
    const output = el("div", { class: "output" });
    const form = el("form", { class: "try" },
      parameters.length ? parameterTable(parameters) : el("p", { class: "muted", text: "No parameters." }),
      body,
      el("button", { type: "submit", text: `Send ${verb} request` }),
      output);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(path, verb, parameters, form, output);
    });
    const summary = el("summary", {},
      el("span", { class: `method ${method}`, text: verb }),
      el("code", { class: "path", text: path }),
      el("span", { class: "summary", text: op.summary || "" }));
    return el("li", { class: "route", id: op.operationId, "data-route": `${verb} ${path}` },
      el("details", {}, summary, el("p", { class: "description", text: op.description || "" }), form));
  }

  function parameterTable(parameters) {
    const rows = parameters.map((parameter) => {
      const schema = parameter.schema || {};
      return el("tr", {},
        el("td", {}, el("code", { text: parameter.name }), parameter.required ? el("span", { class: "required", text: " *" }) : null),
        el("td", { class: "muted", text: `${parameter.in} · ${typeText(schema)}` }),
        el("td", {}, control(parameter, schema), el("div", { class: "muted small", text: parameter.description || "" })));
    });
    return el("table", { class: "parameters" },
      el("thead", {}, el("tr", {}, el("th", { text: "name" }), el("th", { text: "in · type" }), el("th", { text: "value" }))),
      el("tbody", {}, ...rows));
  }

  function typeText(schema) {
    if (schema.type === "array") return `list of ${typeText(schema.items || {})}`;
    if (schema.anyOf) return schema.anyOf.map(typeText).join(" or ");
    return schema.type || "any";
  }

  function control(parameter, schema) {
    const name = `${parameter.in}:${parameter.name}`;
    const choices = schema.enum || (schema.items && schema.items.enum) || (schema.type === "boolean" ? [true, false] : null);
    if (choices) {
      const multiple = schema.type === "array";
      const options = (multiple ? [] : [el("option", { value: "", text: "" })])
        .concat(choices.map((choice) => el("option", { value: String(choice), text: String(choice) })));
      return el("select", { name, multiple, size: multiple ? Math.min(choices.length, 5) : undefined }, ...options);
    }
    const hint = schema.type === "array" ? "comma-separated" : schema.pattern ? `matches ${schema.pattern}` : "";
    return el("input", { name, type: "text", placeholder: hint, required: parameter.required, autocomplete: "off" });
  }

  function bodyField(requestBody) {
    const content = requestBody.content || {};
    const schema = (content["application/json"] || {}).schema || {};
    const area = el("textarea", { name: "body", rows: 5, spellcheck: "false" });
    area.value = JSON.stringify(example(schema), null, 2);
    return el("label", { class: "body" },
      el("span", { text: `JSON body${requestBody.required ? " *" : ""} — ${requestBody.description || ""}` }), area);
  }

  function example(schema) {
    if (schema.example !== undefined) return schema.example;
    if (schema.enum) return schema.enum[0];
    if (schema.anyOf || schema.oneOf) return example((schema.anyOf || schema.oneOf)[0]);
    switch (schema.type) {
      case "object": {
        const result = {};
        const required = schema.required || Object.keys(schema.properties || {});
        for (const name of required) result[name] = example((schema.properties || {})[name] || {});
        return result;
      }
      case "array": return [example(schema.items || {})];
      case "integer": case "number": return schema.minimum ?? 0;
      case "boolean": return false;
      default: return "";
    }
  }

  function valueOf(field) {
    if (!field) return "";
    if (field.multiple) return Array.from(field.selectedOptions, (option) => option.value).join(",");
    return field.value.trim();
  }

  async function send(path, verb, parameters, form, output) {
    let target = path;
    const query = new URLSearchParams();
    for (const parameter of parameters) {
      const value = valueOf(form.elements.namedItem(`${parameter.in}:${parameter.name}`));
      if (value === "") continue;
      if (parameter.in === "path") target = target.replace(`{${parameter.name}}`, encodeURIComponent(value));
      else query.append(parameter.name, value);
    }
    const missing = target.match(/\{([^}]+)\}/);
    if (missing) return show(output, { error: `Fill in the path parameter ${missing[1]}.` });
    const url = new URL("." + target + (query.toString() ? `?${query}` : ""), document.baseURI);
    const headers = { accept: "application/json" };
    const token = document.getElementById("token").value.trim();
    if (token) headers.authorization = `Bearer ${token}`;
    let body;
    const area = form.elements.namedItem("body");
    if (area && area.value.trim()) {
      try { JSON.parse(area.value); } catch (error) { return show(output, { error: `The body is not valid JSON: ${error.message}` }); }
      body = area.value;
      headers["content-type"] = "application/json";
    }
    show(output, { pending: true });
    const started = performance.now();
    try {
      const response = await fetch(url, { method: verb, headers, body });
      const text = await response.text();
      show(output, { response, text, millis: Math.round(performance.now() - started), curl: curl(verb, url, headers, body) });
    } catch (error) {
      show(output, { error: `The request failed: ${error.message}` });
    }
  }

  function curl(verb, url, headers, body) {
    const quote = (text) => `'${String(text).replace(/'/g, "'\\''")}'`;
    const parts = ["curl", "-X", verb, quote(url)];
    for (const [name, value] of Object.entries(headers)) {
      parts.push("-H", quote(`${name}: ${name === "authorization" ? "Bearer $TOKEN" : value}`));
    }
    if (body) parts.push("-d", quote(JSON.stringify(JSON.parse(body))));
    return parts.join(" ");
  }

  function show(output, { pending, error, response, text, millis, curl: command }) {
    if (pending) return output.replaceChildren(el("p", { class: "muted", text: "Sending…" }));
    if (error) return output.replaceChildren(el("p", { class: "error", text: error }));
    let pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: shown as it came */ }
    const kind = response.ok ? "ok" : "failed";
    // Whatever the upstream says of its budget or of retrying, under the names its document passes back.
    const limits = [...response.headers.keys()].filter((name) => /ratelimit|retry|quota/.test(name))
      .map((name) => `${name}: ${response.headers.get(name)}`).join(" · ");
    output.replaceChildren(
      el("p", { class: `status ${kind}`, "data-status": response.status,
        text: `${response.status} ${response.statusText} · ${millis} ms${limits ? ` · ${limits}` : ""}` }),
      el("pre", { class: "curl", text: command }),
      el("pre", { class: "response", text: pretty }));
  }

  // `#operationId` opens a route; `#operationId/send` also sends it, for GET routes only (a link never mutates).
  function openFromHash() {
    const [id, action] = decodeURIComponent(location.hash.slice(1)).split("/");
    const item = id && document.getElementById(id);
    if (!item) return;
    item.querySelector("details").open = true;
    item.scrollIntoView();
    if (action === "send" && item.dataset.route.startsWith("GET ")) item.querySelector("form").requestSubmit();
  }

  window.addEventListener("hashchange", openFromHash);
  main();
})();
