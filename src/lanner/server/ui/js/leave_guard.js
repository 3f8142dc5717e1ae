// Asking before unsaved edits are lost, whether the user leaves inside the UI (the router asks
// `mayLeave()` before showing another page) or closes/reloads the tab (`beforeunload`).
let question = null; // () => the question to ask, or null when nothing would be lost

// Installs the page's guard; returns the function that removes it.
export function guardLeaving(ask) {
  question = ask;
  return () => { if (question === ask) question = null; };
}

export function mayLeave() {
  const text = question && question();
  return !text || window.confirm(text);
}

window.addEventListener("beforeunload", (e) => {
  if (question && question()) {
    e.preventDefault();
    e.returnValue = "";
  }
});
