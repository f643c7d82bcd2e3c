extension Runner {
    /// The target policy, checked before anything is written, printed or sent: throws the refusal
    /// (bad input, exit 1) when a variant's external target is off this machine without
    /// `--allow-remote`, or its reference server would listen beyond loopback without `--bind`, or a
    /// unix address from the command line does not fit the scenario.
    /// `run` calls it first; the CLI calls it too, so it announces only a run that will happen.
    public static func preflight(_ scenario: Scenario, options: Options) throws(RunError) {
        for variant in resolve(scenario, options: options).runVariants {
            let server = resolve(variant.scenario, options: options).server
            let refusal = server.kind == .external
                ? server.address.flatMap { TargetPolicy.refusal(target: $0, allowRemote: options.allowRemote) }
                : TargetPolicy.refusal(bind: server.bind, confirmed: options.bind != nil)
            if let refusal { throw RunError(.badInput, refusal) }
            // A unix address from --target or --bind meets a scenario written for IP: the loader's rules, checked here.
            if let conflict = UnixSocketRules.conflict(in: resolve(variant.scenario, options: options)) {
                let flag = server.kind == .external ? "--target" : "--bind"
                throw RunError(.badInput, "\(flag) \(server.target): \(conflict)")
            }
        }
    }
}
