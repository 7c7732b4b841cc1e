// /admin: the attendee table selects rows by position, and new arrivals come first; after new data, the
// chosen attendee's row is selected again (none if they are gone), from the choice as it is now.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.admin = {
  keepChoice: function (rows, chosen) {
    if (!rows || !chosen || !chosen.length) {
      return [];
    }
    var index = rows.findIndex(function (row) { return row.id === chosen[0]; });
    return index < 0 ? [] : [index];
  }
};
