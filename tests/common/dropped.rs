//! A file dropped on the window, as egui-winit hands it over (for the app tests and the frame
//! benchmark).

use std::path::{Path, PathBuf};

/// A dropped file: its path, read on demand.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl eframe::egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}
