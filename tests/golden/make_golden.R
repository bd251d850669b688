# Golden numbers from R for cmltrack's statistics tests (tests/stats/test_golden.py).
#
# Regenerate from the repository root with:
#   Rscript tests/golden/make_golden.R
# (Debian: apt-get install r-base-core r-cran-survival r-cran-cmprsk). The data sets are written
# to tests/golden/data/*.csv (made here with a fixed seed, awkward on purpose) and R's numbers to
# tests/golden/*.csv; the Python tests read both and never need R.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
out <- "tests/golden"
dat <- file.path(out, "data")
dir.create(dat, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(x, name) write.csv(x, name, row.names = FALSE, na = "")
num <- function(x) trimws(formatC(x, digits = 15, format = "g"))

# ---------------------------------------------------------------- data sets
set.seed(20260101)
# 3 groups, integer months (many ties), heavy censoring in group "c"
n <- 90
g <- rep(c("a", "b", "c"), each = 30)
t <- round(rexp(n, rate = ifelse(g == "a", 1 / 12, ifelse(g == "b", 1 / 20, 1 / 30))))
cens <- round(runif(n, 0, ifelse(g == "c", 15, 40)))
km_ties <- data.frame(time = pmin(t, cens), event = as.integer(t <= cens), group = g)
wcsv(km_ties, file.path(dat, "km_ties.csv"))

# x: the curve is exactly 0.5 from time 4 to 6 (median = midpoint 5); y ends at exactly 0.5
# after time 2 with last follow-up 4 (median (2 + 4) / 2 = 3)
km_flat <- data.frame(
  time  = c(1, 2, 3, 4, 5, 6, 7, 8,   1, 2, 3, 4),
  event = c(1, 1, 1, 1, 0, 1, 0, 1,   1, 1, 0, 0),
  group = c(rep("x", 8), rep("y", 4)))
wcsv(km_flat, file.path(dat, "km_flat.csv"))

# events and censorings at time 0; group "late" never reaches the median; group "zero" drops to 0
km_edge <- data.frame(
  time  = c(0, 0, 0, 1, 2, 2, 3, 5,   2, 4, 4, 6, 8, 9, 10, 10,   0, 1, 1, 2, 3),
  event = c(1, 0, 1, 1, 0, 1, 1, 0,   0, 1, 0, 0, 1, 0, 0, 0,     0, 1, 1, 1, 1),
  group = c(rep("early", 8), rep("late", 8), rep("zero", 5)))
wcsv(km_edge, file.path(dat, "km_edge.csv"))

# Cox: integer times (ties), a binary, a continuous and a 3-level covariate
set.seed(7)
n <- 150
x1 <- rbinom(n, 1, 0.4)
x2 <- round(rnorm(n, 50, 10))
x3 <- sample(0:2, n, replace = TRUE)
lin <- 0.7 * x1 + 0.03 * (x2 - 50) - 0.3 * x3
tt <- ceiling(rexp(n, 0.05 * exp(lin)))
cc <- ceiling(runif(n, 5, 60))
cox_ties <- data.frame(time = pmin(tt, cc), event = as.integer(tt <= cc), x1 = x1, x2 = x2, x3 = x3)
wcsv(cox_ties, file.path(dat, "cox_ties.csv"))

# competing risks: 3 groups, half-month times (ties), causes 1 and 2, censoring
set.seed(2)
n <- 120
cr <- data.frame(time = round(rexp(n) * 10) / 2, status = sample(0:2, n, replace = TRUE,
                 prob = c(0.3, 0.4, 0.3)), group = sample(c("a", "b", "c"), n, replace = TRUE))
wcsv(cr, file.path(dat, "cif_groups.csv"))

# ---------------------------------------------------------------- Kaplan-Meier
km_sets <- list(km_ties = km_ties, km_flat = km_flat, km_edge = km_edge)
at <- c(0, 0.5, 1, 2, 3, 4, 5, 6, 10, 12, 24, 36, 100)
curve_rows <- list(); at_rows <- list(); med_rows <- list(); lr_rows <- list()
var_rows <- list()
for (nm in names(km_sets)) {
  d <- km_sets[[nm]]
  for (ct in c("log-log", "log", "plain")) {
    ours <- c("log-log" = "loglog", log = "log", plain = "plain")[[ct]]
    for (grp in sort(unique(d$group))) {
      s <- d[d$group == grp, ]
      f <- survfit(Surv(time, event) ~ 1, data = s, conf.type = ct)
      curve_rows[[length(curve_rows) + 1]] <- data.frame(
        data = nm, ci = ours, group = grp, time = f$time, n_risk = f$n.risk,
        n_event = f$n.event, n_censor = f$n.censor, surv = num(f$surv), std_err = num(f$std.err),
        lower = num(f$lower), upper = num(f$upper))
      sm <- summary(f, times = at, extend = TRUE)
      at_rows[[length(at_rows) + 1]] <- data.frame(
        data = nm, ci = ours, group = grp, time = sm$time, surv = num(sm$surv),
        lower = num(sm$lower), upper = num(sm$upper), n_risk = sm$n.risk)
      q <- quantile(f, 0.5)
      med_rows[[length(med_rows) + 1]] <- data.frame(
        data = nm, ci = ours, group = grp, median = num(unname(q$quantile)),
        lower = num(q$lower), upper = num(q$upper))
    }
  }
  sd <- survdiff(Surv(time, event) ~ group, data = d)
  df <- sum(sd$exp > 0) - 1
  lr_rows[[length(lr_rows) + 1]] <- data.frame(
    data = nm, chi2 = num(sd$chisq), df = df, p = num(pchisq(sd$chisq, df, lower.tail = FALSE)))
  # observed, expected and the variance matrix (row i, column j) of survdiff, per group
  grps <- sort(unique(d$group))
  for (i in seq_along(grps)) {
    var_rows[[length(var_rows) + 1]] <- data.frame(
      data = nm, group = grps[i], observed = sd$obs[i], expected = num(sd$exp[i]),
      var = paste(num(sd$var[i, ]), collapse = " "))
  }
}
wcsv(do.call(rbind, curve_rows), file.path(out, "km_curves.csv"))
wcsv(do.call(rbind, at_rows), file.path(out, "km_at.csv"))
wcsv(do.call(rbind, med_rows), file.path(out, "km_median.csv"))
wcsv(do.call(rbind, lr_rows), file.path(out, "km_logrank.csv"))
wcsv(do.call(rbind, var_rows), file.path(out, "km_logrank_var.csv"))

# a 90% level (log-log) for one data set
lv <- list()
for (grp in sort(unique(km_ties$group))) {
  f <- survfit(Surv(time, event) ~ 1, data = km_ties[km_ties$group == grp, ],
               conf.type = "log-log", conf.int = 0.90)
  sm <- summary(f, times = at, extend = TRUE)
  q <- quantile(f, 0.5)
  lv[[length(lv) + 1]] <- data.frame(group = grp, time = sm$time, surv = num(sm$surv),
    lower = num(sm$lower), upper = num(sm$upper), median = num(unname(q$quantile)),
    median_lower = num(unname(q$lower)), median_upper = num(unname(q$upper)))
}
wcsv(do.call(rbind, lv), file.path(out, "km_level90.csv"))

# ---------------------------------------------------------------- rates
# exact: binom.test (Clopper-Pearson); wilson: prop.test without continuity correction
rates <- expand.grid(k = c(0, 1, 13, 14, 19), n = c(20, 34, 38))
rates <- rates[rates$k <= rates$n, ]
rates$exact_lower <- rates$exact_upper <- rates$wilson_lower <- rates$wilson_upper <- NA
for (i in seq_len(nrow(rates))) {
  e <- binom.test(rates$k[i], rates$n[i])$conf.int
  w <- suppressWarnings(prop.test(rates$k[i], rates$n[i], correct = FALSE))$conf.int
  rates[i, c("exact_lower", "exact_upper")] <- c(e[1], e[2])
  rates[i, c("wilson_lower", "wilson_upper")] <- c(w[1], w[2])
}
for (col in c("exact_lower", "exact_upper", "wilson_lower", "wilson_upper"))
  rates[[col]] <- num(rates[[col]])
wcsv(rates, file.path(out, "rates.csv"))

# ---------------------------------------------------------------- Cox
cox_rows <- list()
for (ti in c("efron", "breslow")) {
  for (form in c("x1", "x1+x2+x3")) {
    f <- coxph(as.formula(paste("Surv(time, event) ~", form)), data = cox_ties, ties = ti)
    s <- summary(f)
    ci <- s$conf.int
    cox_rows[[length(cox_rows) + 1]] <- data.frame(
      ties = ti, model = form, name = rownames(s$coefficients),
      coef = num(s$coefficients[, "coef"]), se = num(s$coefficients[, "se(coef)"]),
      hr = num(s$coefficients[, "exp(coef)"]), p = num(s$coefficients[, "Pr(>|z|)"]),
      lower = num(ci[, "lower .95"]), upper = num(ci[, "upper .95"]),
      loglik0 = num(f$loglik[1]), loglik = num(f$loglik[2]),
      concordance = num(f$concordance[["concordance"]]), n = f$n, events = f$nevent)
  }
}
wcsv(do.call(rbind, cox_rows), file.path(out, "cox.csv"))

# ---------------------------------------------------------------- competing risks
times <- c(0, 0.5, 1, 2.5, 5, 7.5, 10, 15, 100)
cif_rows <- list(); gray_rows <- list()
for (byg in c(FALSE, TRUE)) {
  fit <- if (byg) cuminc(cr$time, cr$status, cr$group) else cuminc(cr$time, cr$status)
  tp <- timepoints(fit, times)
  for (rn in rownames(tp$est)) {
    parts <- strsplit(rn, " ")[[1]]
    cif_rows[[length(cif_rows) + 1]] <- data.frame(
      by_group = byg, group = if (byg) parts[1] else "all", cause = as.integer(parts[2]),
      time = times, cif = num(tp$est[rn, ]), var = num(tp$var[rn, ]))
  }
  if (byg) {
    gray_rows[[1]] <- data.frame(cause = as.integer(rownames(fit$Tests)),
      stat = num(fit$Tests[, "stat"]), p = num(fit$Tests[, "pv"]), df = fit$Tests[, "df"])
  }
}
cif <- do.call(rbind, cif_rows)
cif$cif[cif$cif == "NA"] <- ""
cif$var[cif$var == "NA"] <- ""
wcsv(cif, file.path(out, "cif.csv"))
wcsv(do.call(rbind, gray_rows), file.path(out, "gray.csv"))
cat("R", R.version$major, R.version$minor, "survival", as.character(packageVersion("survival")),
    "cmprsk", as.character(packageVersion("cmprsk")), "\n", file = file.path(out, "VERSIONS.txt"))
