// Lineage graph of a feature group page: fetches the JSON API named in data-lineage-url and draws it
// with cytoscape + dagre, left to right (upstream → group → downstream). No inline scripts or styles:
// colours come from the legend swatches in lineage.css, data from data-* attributes and the API.
(function () {
  "use strict";

  const ORIGIN_STYLE = { sagemaker: "solid", openlineage: "dashed", manual: "dotted" };
  // Bidi control characters (overrides, embeddings, isolates, marks) in names from the API are
  // shown as [U+XXXX], as the server does for every page (portal/bidi.py), so none can reorder text.
  const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  function visible(text) {
    if (text === undefined || text === null) return text;
    return String(text).replace(BIDI_CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}]`);
  }

  function kindColours(panel) {
    const colours = {};
    panel.querySelectorAll("[data-lineage-kind]").forEach((swatch) => {
      colours[swatch.dataset.lineageKind] = getComputedStyle(swatch).backgroundColor;
    });
    return colours;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = visible(text);
    if (className) node.className = className;
    return node;
  }

  function init(panel) {
    const graphEl = panel.querySelector("[data-lineage-graph]");
    const details = panel.querySelector("[data-lineage-details]");
    const status = panel.querySelector("[data-lineage-status]");
    const depthSelect = panel.querySelector("[data-lineage-depth]");
    const depthForm = panel.querySelector("[data-lineage-depth-form]");
    const colours = kindColours(panel);
    let cy = null;
    let nodesById = {};
    let requestSeq = 0;

    function say(text) {
      if (status) status.textContent = text;
    }

    function showDetails(node) {
      if (!details || !node) return;
      details.replaceChildren();
      details.dataset.node = node.id;
      details.appendChild(el("p", node.name, "fw-semibold mb-1 text-break"));
      const dl = el("dl", null, "small mb-2");
      const rows = [
        ["Kind", node.kind_label],
        ["Key", node.key],
        ["Account", node.account_id || "—"],
        ["Where", node.side === "root" ? "this group" : `${node.side}, ${node.hops} hop${node.hops === 1 ? "" : "s"}`],
      ];
      rows.forEach(([label, value]) => {
        dl.appendChild(el("dt", label));
        dl.appendChild(el("dd", value, "text-break font-mono"));
      });
      details.appendChild(dl);
      if (node.url) {
        const link = el("a", "Open feature group page");
        link.href = node.url;
        details.appendChild(link);
      }
      const props = node.properties || {};
      if (Object.keys(props).length) {
        details.appendChild(el("p", "Properties", "small fw-semibold mb-0 mt-2"));
        details.appendChild(el("pre", JSON.stringify(props, null, 2), "lineage-details-props border rounded p-1"));
      }
      panel.querySelectorAll("[data-lineage-node-row]").forEach((row) => {
        row.classList.toggle("lineage-selected", row.dataset.lineageNodeRow === node.id);
      });
    }

    function activate(node) {
      // Another visible feature group: go to its page. Anything else: show what we know.
      if (node.url && node.side !== "root") {
        window.location.assign(node.url);
        return;
      }
      showDetails(node);
    }

    function draw(data) {
      nodesById = {};
      data.nodes.forEach((n) => {
        nodesById[n.id] = n;
      });
      const elements = data.nodes.map((n) => ({
        group: "nodes",
        data: { id: n.id, label: visible(n.name), kind: n.kind, colour: colours[n.kind] || colours.other || "#adb5bd", root: n.side === "root" ? 1 : 0 },
      }));
      data.edges.forEach((e) => {
        const single = e.origins.length === 1 ? e.origins[0] : "";
        elements.push({
          group: "edges",
          data: { id: e.id, source: e.source, target: e.target, line: ORIGIN_STYLE[single] || "solid", origins: e.origins.join(", ") },
        });
      });
      if (cy) cy.destroy();
      const labelBackground = getComputedStyle(graphEl).backgroundColor || "#fff";
      cy = window.cytoscape({
        container: graphEl,
        elements: elements,
        // Dagre places nodes by their size *with* their labels (nodeDimensionsIncludeLabels), so
        // long names wrap under their node and push neighbours apart instead of drawing over them.
        layout: {
          name: "dagre",
          rankDir: "LR",
          nodeDimensionsIncludeLabels: true,
          nodeSep: 18,
          rankSep: 60,
          fit: true,
          padding: 20,
        },
        minZoom: 0.2,
        maxZoom: 2.5,
        style: [
          {
            selector: "node",
            style: {
              "background-color": "data(colour)",
              label: "data(label)",
              "font-size": 11,
              "text-valign": "bottom",
              "text-margin-y": 4,
              // Whole names, wrapped at word breaks and (for ARNs, URIs) anywhere past 150 px.
              "text-wrap": "wrap",
              "text-max-width": 150,
              "text-overflow-wrap": "anywhere",
              // Edges pass behind labels, not through them.
              "text-background-color": labelBackground,
              "text-background-opacity": 0.9,
              "text-background-padding": 1,
              width: 22,
              height: 22,
            },
          },
          { selector: "node[root = 1]", style: { width: 34, height: 34, "border-width": 3, "border-color": "#212529", "font-weight": "bold" } },
          { selector: "node:selected", style: { "border-width": 3, "border-color": "#0d6efd" } },
          {
            selector: "edge",
            style: {
              width: 1.6,
              "curve-style": "bezier",
              "target-arrow-shape": "triangle",
              "line-style": "data(line)",
              "line-color": "#6c757d",
              "target-arrow-color": "#6c757d",
            },
          },
        ],
      });
      cy.on("tap", "node", (evt) => activate(nodesById[evt.target.id()]));
      // The instance, for tests and the browser console: a property of the element, no global.
      graphEl.pantryCy = cy;
      graphEl.dataset.nodeIds = data.nodes.map((n) => n.id).join(" ");
      graphEl.dataset.state = data.edges.length ? "ready" : "empty";
      const hidden = data.truncated ? " Only part of the lineage is shown." : "";
      say(`${data.nodes.length} node${data.nodes.length === 1 ? "" : "s"}, ${data.edges.length} edge${data.edges.length === 1 ? "" : "s"}.${hidden}`);
    }

    async function load() {
      const seq = ++requestSeq;
      const url = new URL(panel.dataset.lineageUrl, window.location.href);
      if (depthSelect) url.searchParams.set("depth", depthSelect.value);
      graphEl.dataset.state = "loading";
      say("Loading lineage…");
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        if (seq === requestSeq) draw(data);
      } catch (err) {
        graphEl.dataset.state = "error";
        say(`The lineage graph could not be loaded (${err.message}); the tables below list it.`);
      }
    }

    if (typeof window.cytoscape !== "function") {
      graphEl.dataset.state = "error";
      say("The graph library did not load; the tables below list the lineage.");
      return;
    }
    if (depthSelect) depthSelect.addEventListener("change", load);
    if (depthForm) {
      // With JavaScript the depth applies in place (htmx reloads the tables on "change").
      depthForm.addEventListener("submit", (evt) => {
        evt.preventDefault();
        depthSelect.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
    document.body.addEventListener("lineage-changed", load);
    panel.addEventListener("click", (evt) => {
      const button = evt.target.closest("button[data-lineage-node]");
      if (!button) return;
      const node = nodesById[button.dataset.lineageNode];
      if (!node) return;
      showDetails(node);
      if (cy) {
        cy.$(":selected").unselect();
        cy.getElementById(node.id).select();
      }
    });
    load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-lineage-panel]").forEach(init);
  });
})();
