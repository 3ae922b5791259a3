// The online induction's video step: Continue only once the video has played to the end.
// Seeking forward past what was watched goes back to it, so "ended" means watched through.
// The server checks the time taken as well, where the library gave the video's length.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("induction-video");
  const field = document.getElementById("watched");
  const button = document.getElementById("continue");
  const note = document.getElementById("video-note");
  if (!video || !field || !button) return;
  let watched = 0;
  button.disabled = true;
  if (note) note.hidden = false;
  video.addEventListener("timeupdate", () => {
    if (!video.seeking && video.currentTime > watched && video.currentTime - watched < 2) {
      watched = video.currentTime;
    }
  });
  video.addEventListener("seeking", () => {
    if (video.currentTime > watched + 1) video.currentTime = watched;
  });
  video.addEventListener("ended", () => {
    field.value = "1";
    button.disabled = false;
    if (note) note.textContent = note.dataset.watched || "Watched to the end: you can continue.";
  });
});
