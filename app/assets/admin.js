// /admin: the attendee table selects rows by position, and new arrivals come first; after new data, the
// chosen attendee's row is selected again, and nobody is chosen any more if they are gone (filtered out,
// or removed in another tab): the buttons never act on a row the instructor cannot see.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.admin = {
  keepChoice: function (rows, chosen) {
    var index = rows && chosen && chosen.length ?
      rows.findIndex(function (row) { return row.id === chosen[0]; }) : -1;
    return index < 0 ? [[], []] : [[index], [chosen[0]]];
  }
};
