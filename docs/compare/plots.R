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
