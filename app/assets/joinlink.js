// The join link, /?code=<access code>: the code rides in the link (or its QR code), so the page's access
// code field is filled in from it and put away, with a quiet "✓ Code from your link" in its place. Once
// read, the code leaves the address bar and the history (a shared screen, a borrowed phone) and is kept
// for this tab only (sessionStorage, gone with the tab), so that reloading the page still knows it. If it
// turns out wrong, the page shows the field again, saying so (app.web.forms); typing another code there
// forgets the link's.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.join = {
  code: function (search) {
    var code = new URLSearchParams(search || "").get("code");
    var kept = null;
    try {
      if (code) {
        window.sessionStorage.setItem("workshop-join-code", code.slice(0, 200));
      } else {
        kept = window.sessionStorage.getItem("workshop-join-code");
      }
    } catch (e) {  // storage refused (private mode): the link's code still fills the field this time
    }
    if (code) {
      var url = new URL(window.location.href);
      url.searchParams.delete("code");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
    }
    code = code || kept;
    var keep = window.dash_clientside.no_update;
    if (!code) {
      return [keep, keep, keep];
    }
    return [code.slice(0, 200), {display: "none"}, {}];
  }
};
document.addEventListener("input", function (event) {
  if (event.target && event.target.id === "access-code") {
    try {
      window.sessionStorage.removeItem("workshop-join-code");
    } catch (e) {
    }
  }
});
