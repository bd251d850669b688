# The R counterparts of cmltrack's survival figures (docs/plots.md), from the same tables.
# Run from this folder after make_images.py has written adtte.csv and adsl.csv:
#   Rscript plots.R
# R 4.2 with survival 3.5, cmprsk 2.2, ggplot2 3.4 and survminer 0.4.9 (Debian packages).
suppressPackageStartupMessages({
  library(survival); library(cmprsk); library(ggplot2); library(survminer)
})
adtte <- read.csv("adtte.csv", stringsAsFactors = FALSE)
adsl <- read.csv("adsl.csv", stringsAsFactors = FALSE)

pfs <- merge(subset(adtte, PARAMCD == "PFS"), adsl, by = "USUBJID")
pfs$event <- 1 - pfs$CNSR
pfs$sokal <- factor(pfs$sokal_group, levels = c("low", "intermediate", "high"))
fit <- survfit(Surv(AVAL, event) ~ sokal, data = pfs, conf.type = "log-log")
p <- ggsurvplot(fit, data = pfs, conf.int = TRUE, pval = TRUE, risk.table = TRUE,
                palette = c("#0072B2", "#D55E00", "#009E73"), censor.shape = "|",
                censor.size = 3, xlab = "months since start of TKI therapy",
                ylab = "progression-free survival", break.time.by = 24,
                legend.labs = levels(pfs$sokal), title = "Progression-free survival by Sokal risk")
png("../img/compare/r_km.png", width = 720, height = 560, res = 100)
print(p)
invisible(dev.off())

mmr <- subset(adtte, PARAMCD == "TTMMR")
mmr$status <- ifelse(mmr$CNSR == 0, 1, ifelse(mmr$CMPEVNT == 1, 2, 0))
ci <- cuminc(mmr$AVAL, mmr$status, cencode = 0)
png("../img/compare/r_cif.png", width = 720, height = 500, res = 100)
plot(ci, curvlab = c("MMR", "death or progression first"), lty = c(1, 2),
     col = c("#0072B2", "#0072B2"), xlab = "months since start of TKI therapy",
     ylab = "cumulative incidence", main = "Cumulative incidence of MMR (cmprsk)")
invisible(dev.off())

# The example clinic's BCR::ABL1 course, swimmer and waterfall in ggplot2, from the tables
# make_images.py writes (clinic_*.csv): the conventional R drawing of the same data, beside
# cmltrack's cmltrack_bcr_abl1_*.png, cmltrack_swimmer.png and cmltrack_waterfall.png.
pcr <- read.csv("clinic_pcr.csv", stringsAsFactors = FALSE)
pcr$date <- as.Date(pcr$date)
pcr$detected <- pcr$detected == "True"
# An undetected result is drawn at the level its control copies can show (ABL1: 100 / copies %,
# GUSB: 240 / copies %), as an open triangle.
pcr$shown <- ifelse(pcr$detected, pcr$bcr_abl1_is,
                    ifelse(pcr$control_gene == "GUSB", 240, 100) / pcr$control_copies)
for (id in unique(pcr$patient)) {
  d <- subset(pcr, patient == id)
  p <- ggplot(d, aes(date, shown)) +
    geom_hline(yintercept = c(0.1, 0.01, 0.0032), linetype = c("solid", "dashed", "dotted"),
               colour = "grey40") +
    annotate("text", x = min(d$date), y = c(0.1, 0.01, 0.0032) * 1.35,
             label = c("MMR 0.1%", "MR4 0.01%", "MR4.5 0.0032%"), hjust = 0, size = 3) +
    geom_line(colour = "#0072B2") +
    geom_point(aes(shape = detected), colour = "#0072B2", size = 2.5) +
    scale_shape_manual(values = c(`TRUE` = 16, `FALSE` = 2),
                       labels = c(`TRUE` = "detected", `FALSE` = "undetected (sensitivity)")) +
    scale_y_log10(labels = function(x) paste0(format(x, scientific = FALSE, drop0trailing = TRUE), "%")) +
    labs(x = NULL, y = "BCR::ABL1 (IS)", shape = NULL,
         title = paste0("BCR::ABL1 course, ", id, " (ggplot2)")) +
    theme_bw() + theme(legend.position = "bottom")
  png(paste0("../img/compare/r_bcr_abl1_", id, ".png"), width = 720, height = 480, res = 100)
  print(p)
  invisible(dev.off())
}

sw <- read.csv("clinic_swimmer.csv", stringsAsFactors = FALSE)
sw$what <- ifelse(sw$kind == "tki", sw$drug, ifelse(sw$kind == "hold", "dose hold", "off TKI"))
sw$patient <- factor(sw$patient, levels = rev(unique(sw$patient)))
p <- ggplot(sw, aes(y = patient, yend = patient, x = start, xend = end, colour = what)) +
  geom_segment(aes(linewidth = kind)) +
  scale_linewidth_manual(values = c(tki = 5, hold = 5, off = 1.2), guide = "none") +
  scale_colour_manual(values = c(imatinib = "#0072B2", dasatinib = "#E69F00",
                                 nilotinib = "#009E73", bosutinib = "#CC79A7",
                                 ponatinib = "#D55E00", asciminib = "#56B4E9",
                                 `dose hold` = "grey70", `off TKI` = "grey40")) +
  labs(x = "months since the first TKI", y = NULL, colour = NULL,
       title = "Swimmer plot of the example clinic (ggplot2)") +
  theme_bw()
png("../img/compare/r_swimmer.png", width = 720, height = 480, res = 100)
print(p)
invisible(dev.off())

wf <- read.csv("clinic_waterfall.csv", stringsAsFactors = FALSE)
wf$nc <- is.na(wf$change_pct)
wf <- wf[order(wf$nc, -wf$change_pct), ]  # worst change on the left, n.c. last
wf$patient <- factor(wf$patient, levels = wf$patient)
p <- ggplot(wf, aes(patient, ifelse(nc, 0, change_pct))) +
  geom_col(data = subset(wf, !nc), fill = "#0072B2") +
  geom_text(data = subset(wf, nc), aes(y = 5), label = "n.c.", size = 3) +
  geom_hline(yintercept = 0) +
  labs(x = NULL, y = "best change of Ph+ metaphases from baseline (%)",
       title = "Waterfall of the example clinic (ggplot2; n.c. = not classifiable)") +
  theme_bw() + theme(axis.text.x = element_text(angle = 90, vjust = 0.5))
png("../img/compare/r_waterfall.png", width = 720, height = 480, res = 100)
print(p)
invisible(dev.off())
