/* Pipeline board: drag a deal card onto another stage's column to move it.
   The drop POSTs to the card's move URL through htmx, which swaps in the
   re-rendered board (totals included). No library beyond htmx. */
(function () {
  "use strict";
  let dragged = null;

  function column(target) {
    return target instanceof Element ? target.closest(".board-col[data-droppable]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    const card = event.target instanceof Element ? event.target.closest(".deal-card[draggable]") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.moveUrl);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".board-col.drop-target").forEach(function (el) {
      el.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    const col = column(event.target);
    if (!col || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    col.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    const col = column(event.target);
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    const col = column(event.target);
    if (!col || !dragged) return;
    event.preventDefault();
    col.classList.remove("drop-target");
    const card = dragged;
    if (card.closest(".board-col") === col) return;
    const board = document.getElementById("board");
    col.querySelector(".board-cards").prepend(card);
    card.classList.add("saving");
    htmx.ajax("POST", card.dataset.moveUrl, {
      source: board,
      target: "#board-wrap",
      swap: "outerHTML",
      values: { stage: col.dataset.stageId, query: board.dataset.query || "" },
    });
  });
})();
