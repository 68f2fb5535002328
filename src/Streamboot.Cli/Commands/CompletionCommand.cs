using System.CommandLine;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>streamboot completion bash</c>: a completion script that asks
/// streamboot itself (System.CommandLine's <c>[suggest]</c> directive), so
/// completions always match the installed verbs, and the site's names
/// (<see cref="Completions"/>).
/// </summary>
public static class CompletionCommand
{
    private const string BashScript = """
        # streamboot bash completion. Install: streamboot completion bash > /etc/bash_completion.d/streamboot
        _streamboot_complete() {
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _streamboot_complete streamboot
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("SHELL") { Description = "Shell to complete in (bash)" };
        shell.AcceptOnlyFromAmong("bash");
        var command = new Command("completion", "Print a shell completion script: streamboot completion bash > /etc/bash_completion.d/streamboot") { shell };
        command.SetAction(parse =>
        {
            if (parse.GetValue(GlobalOptions.Json))
            {
                // Every verb speaks JSON for scripts; this one's result is the script.
                Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { shell = "bash", script = BashScript }, Output.CliOutput.JsonOptions));
                return ExitCodes.Ok;
            }

            Console.Out.WriteLine(BashScript);
            return ExitCodes.Ok;
        });
        return command;
    }
}
