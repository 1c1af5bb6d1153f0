package dev.peco4j.nn;

import java.util.List;

/** What a state-dict load found: names the model has but the checkpoint lacks, the reverse, and shape mismatches. */
public record LoadReport(List<String> missing, List<String> unexpected, List<String> shapeMismatches) {
    public LoadReport {
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
        shapeMismatches = List.copyOf(shapeMismatches);
    }

    public boolean isClean() {
        return missing.isEmpty() && unexpected.isEmpty() && shapeMismatches.isEmpty();
    }

    @Override
    public String toString() {
        return "missing keys " + missing + ", unexpected keys " + unexpected + ", shape mismatches " + shapeMismatches;
    }
}
