//! The queue cards' pictures in the window: each in a slot of a few shared textures
//! ([`crate::card_slots`]), not a texture each; the local preview first, then the service's
//! thumbnail in the same slot. A removed card's slot is used again.

use std::collections::HashMap;

use eframe::egui;

use crate::card_slots::{PAGE, SLOT, Slot, Slots};
use crate::jobs::JobId;
use crate::preview::PreviewImage;

/// What a row draws for its picture.
#[derive(Debug, Clone, Copy)]
pub struct CardPicture {
    pub texture: egui::TextureId,
    /// Where the picture is on its page, in texture coordinates.
    pub uv: egui::Rect,
    /// The picture's size in pixels.
    pub size: egui::Vec2,
    /// It is the service's thumbnail (not the local preview).
    pub thumb: bool,
}

#[derive(Debug, Clone, Copy)]
struct Placed {
    slot: Slot,
    size: [usize; 2],
    thumb: bool,
}

/// Every card's picture, by job.
#[derive(Default)]
pub struct CardPictures {
    pages: Vec<egui::TextureHandle>,
    slots: Slots,
    placed: HashMap<JobId, Placed>,
}

impl CardPictures {
    /// Shows `img` on the card of `job`, in the card's slot (a new one for a new card). A local
    /// preview never replaces the service's thumbnail.
    pub fn put(&mut self, ctx: &egui::Context, job: JobId, img: &PreviewImage, thumb: bool) {
        let slot = match self.placed.get(&job) {
            Some(p) if p.thumb && !thumb => return,
            Some(p) => p.slot,
            None => self.slots.take(),
        };
        let side = SLOT as usize;
        let (w, h) = (
            (img.width as usize).min(side),
            (img.height as usize).min(side),
        );
        // The picture in the slot's corner, transparent around it: linear filtering samples a
        // little past the picture's edge, and must not find the slot's last picture there.
        let mut pixels = vec![egui::Color32::TRANSPARENT; side * side];
        for y in 0..h {
            for x in 0..w {
                let i = (y * img.width as usize + x) * 4;
                if let Some(p) = img.rgba.get(i..i + 4) {
                    pixels[y * side + x] =
                        egui::Color32::from_rgba_unmultiplied(p[0], p[1], p[2], p[3]);
                }
            }
        }
        while self.pages.len() <= slot.page() {
            let blank = egui::ColorImage::filled(
                [PAGE as usize, PAGE as usize],
                egui::Color32::TRANSPARENT,
            );
            let name = format!("cards-{}", self.pages.len());
            self.pages
                .push(ctx.load_texture(name, blank, egui::TextureOptions::LINEAR));
        }
        let [x, y] = slot.origin();
        self.pages[slot.page()].set_partial(
            [x as usize, y as usize],
            egui::ColorImage::new([side, side], pixels),
            egui::TextureOptions::LINEAR,
        );
        self.placed.insert(
            job,
            Placed {
                slot,
                size: [w, h],
                thumb,
            },
        );
    }

    /// The picture on the card of `job`, if any.
    pub fn get(&self, job: JobId) -> Option<CardPicture> {
        let p = self.placed.get(&job)?;
        let page = self.pages.get(p.slot.page())?;
        let [x, y] = p.slot.origin();
        let page_side = PAGE as f32;
        let min = egui::pos2(x as f32 / page_side, y as f32 / page_side);
        let size = egui::vec2(p.size[0] as f32, p.size[1] as f32);
        Some(CardPicture {
            texture: page.id(),
            uv: egui::Rect::from_min_size(min, size / page_side),
            size,
            thumb: p.thumb,
        })
    }

    /// The card of `job` is gone: its slot is free.
    pub fn remove(&mut self, job: JobId) {
        if let Some(p) = self.placed.remove(&job) {
            self.slots.give(p.slot);
        }
    }

    /// Frees the slots of cards `keep` says are gone.
    pub fn retain(&mut self, mut keep: impl FnMut(JobId) -> bool) {
        let gone: Vec<JobId> = self.placed.keys().copied().filter(|j| !keep(*j)).collect();
        for job in gone {
            self.remove(job);
        }
    }

    /// Cards with a picture.
    pub fn len(&self) -> usize {
        self.placed.len()
    }

    /// Whether no card has a picture.
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// Shared textures in use (pages).
    pub fn textures(&self) -> usize {
        self.pages.len()
    }
}
