// Palate storefront: sends the real events (impressions, clicks, add_to_cart, order) and keeps
// the cart. Plain JS, no build step. Every event carries the request_id of the ranking shown.
"use strict";

const page = document.body.dataset;

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

function location_() {
  return { lat: Number(page.lat), lon: Number(page.lon) };
}

function baseEvent(type, requestId) {
  return { type, event_id: newId(), user_id: page.user, ts: page.when,
           request_id: requestId || page.requestId, location: location_() };
}

async function sendEvents(events) {
  if (!events.length || !page.user) return null;
  const res = await fetch("/v1/events", {
    method: "POST", keepalive: true,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ events }),
  });
  if (!res.ok) throw new Error("events rejected: " + res.status);
  const body = await res.json();
  const rejected = (body.results || []).filter((r) => r.status === "rejected");
  if (rejected.length) console.warn("events rejected", rejected);
  return body;
}

function sendImpressions() {
  const shown = [...document.querySelectorAll("[data-impression]")].map((el) => ({
    ...baseEvent("impression"), premise: el.dataset.premise, entity_kind: el.dataset.kind,
    entity_id: el.dataset.entity, position: Number(el.dataset.position), section: el.dataset.section,
  }));
  return sendEvents(shown.slice(0, 1000));
}

function trackClicks() {
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-click]");
    if (!link) return;
    const click = { ...baseEvent("click"), entity_kind: link.dataset.kind,
                    entity_id: link.dataset.entity, premise: link.dataset.premise };
    // The section lets the bandit credit the carousel the click came from.
    if (link.dataset.section) click.section = link.dataset.section;
    sendEvents([click]);
  });
}

function setupMap() {
  const svg = document.getElementById("city-map");
  if (!svg) return;
  // Another customer is delivered to at their own home unless a point is picked again.
  document.getElementById("user-input").addEventListener("change", () => {
    document.getElementById("lat-input").value = "";
    document.getElementById("lon-input").value = "";
  });
  const d = svg.dataset;
  svg.addEventListener("click", (e) => {
    const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const scale = Number(d.scale);
    const lon = Number(d.minLon) + (pt.x - Number(d.x0)) / (scale * Number(d.lonFactor));
    const lat = Number(d.maxLat) - (pt.y - Number(d.y0)) / scale;
    document.getElementById("lat-input").value = lat.toFixed(5);
    document.getElementById("lon-input").value = lon.toFixed(5);
    const here = document.getElementById("here");
    here.setAttribute("cx", pt.x.toFixed(1));
    here.setAttribute("cy", pt.y.toFixed(1));
    document.getElementById("context-form").requestSubmit();
  });
}

// ---- cart (venue page) ----
function setupCart() {
  const root = document.getElementById("venue");
  if (!root) return;
  const venueId = root.dataset.venueId;
  const menu = JSON.parse(document.getElementById("menu").textContent);
  const key = "palate-cart:" + page.user + ":" + venueId;
  let cart = JSON.parse(localStorage.getItem(key) || "[]");
  const status = document.getElementById("order-status");
  const orderButton = document.getElementById("place-order");

  function save() { localStorage.setItem(key, JSON.stringify(cart)); }
  function total() {
    return cart.reduce((sum, l) => sum + l.quantity * (menu[l.item_id] ? menu[l.item_id].price : 0), 0);
  }
  function name(itemId) { return menu[itemId] ? menu[itemId].name : itemId; }

  function addButton(itemId, requestId) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "add"; b.textContent = "Add";
    b.setAttribute("aria-label", "Add " + name(itemId) + " to cart");
    b.addEventListener("click", () => add(itemId, requestId));
    return b;
  }

  function render() {
    const lines = document.getElementById("cart-lines");
    lines.replaceChildren(...cart.map((l) => {
      const li = document.createElement("li");
      li.textContent = l.quantity + " × " + name(l.item_id);
      return li;
    }));
    document.getElementById("cart-total").textContent = cart.length ? "Total €" + total().toFixed(2) : "Empty";
    orderButton.disabled = !cart.length;
  }

  async function refreshCrossSell() {
    const box = document.getElementById("cross-sell");
    if (!cart.length) { box.hidden = true; return; }
    const res = await fetch("/v1/cart/recommendations", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user_id: page.user, venue_id: venueId, time: page.when, limit: 4,
                             lines: cart.map((l) => ({ item_id: l.item_id, quantity: l.quantity })) }),
    });
    if (!res.ok) throw new Error("cart recommendations failed: " + res.status);
    const body = await res.json();
    const list = document.getElementById("cross-sell-items");
    list.replaceChildren(...body.items.map((it, i) => {
      const li = document.createElement("li");
      li.dataset.entity = it.item_id;
      const label = document.createElement("span");
      label.textContent = name(it.item_id) + " €" + it.price.toFixed(2);
      li.append(label, addButton(it.item_id, body.request_id));
      return li;
    }));
    box.hidden = !body.items.length;
    sendEvents(body.items.map((it, i) => ({ ...baseEvent("impression", body.request_id), premise: "cart",
      entity_kind: "item", entity_id: it.item_id, position: i, section: "cross_sell" })));
  }

  async function add(itemId, requestId) {
    const line = cart.find((l) => l.item_id === itemId);
    if (line) line.quantity += 1; else cart.push({ item_id: itemId, quantity: 1, request_id: requestId || page.requestId });
    save(); render();
    status.textContent = name(itemId) + " added.";
    await sendEvents([{ ...baseEvent("add_to_cart", requestId), venue_id: venueId, item_id: itemId, quantity: 1 }]);
    await refreshCrossSell();
  }

  async function placeOrder() {
    orderButton.disabled = true;
    const lines = cart.map((l) => ({ item_id: l.item_id, quantity: l.quantity,
                                     unit_price: menu[l.item_id] ? menu[l.item_id].price : 0 }));
    await sendEvents([{ ...baseEvent("order"), order_id: newId(), venue_id: venueId,
                        total: Math.round(total() * 100) / 100, lines }]);
    cart = []; save(); render();
    document.getElementById("cross-sell").hidden = true;
    status.textContent = "Order placed. Thank you!";
  }

  document.querySelectorAll("button.add[data-item-id]").forEach((b) =>
    b.addEventListener("click", () => add(b.dataset.itemId)));
  orderButton.addEventListener("click", placeOrder);
  render();
  refreshCrossSell();
}

// ---- insights: model registry admin ----
function setupModels() {
  const box = document.getElementById("models");
  if (!box) return;
  const name = box.dataset.modelName;
  const status = document.getElementById("admin-status");
  async function call(path, body) {
    const token = document.getElementById("admin-token").value;
    if (!token) { status.textContent = "Type the admin token first."; return; }
    const res = await fetch("/v1/admin/models/" + encodeURIComponent(name) + path, {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(body || {}),
    });
    const reply = await res.json().catch(() => ({}));
    if (res.ok) { status.textContent = "Now serving " + reply.current + "."; location.reload(); }
    else status.textContent = "Refused (" + res.status + "): " + (reply.detail || reply.error || JSON.stringify(reply));
  }
  box.querySelectorAll("button.promote").forEach((b) =>
    b.addEventListener("click", () => call("/promote", { version: b.dataset.version })));
  document.getElementById("rollback").addEventListener("click", () => call("/rollback"));
}

document.addEventListener("DOMContentLoaded", () => {
  setupMap();
  trackClicks();
  setupCart();
  setupModels();
  sendImpressions();
});
