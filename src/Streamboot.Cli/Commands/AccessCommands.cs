using System.CommandLine;
using Streamboot.Admin.Access;
using Streamboot.Cli.Output;
using Streamboot.Data;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>streamboot token ...</c> and <c>streamboot account ...</c>: who may run
/// the site through the admin API (<c>/api/v1</c>) and its console.
/// </summary>
public static class AccessCommands
{
    public static Command Tokens()
    {
        var command = new Command("token", "Make, list and revoke API tokens for the admin API (/api/v1)");
        command.Subcommands.Add(CreateVerb());
        command.Subcommands.Add(ListVerb());
        command.Subcommands.Add(RevokeVerb());
        return command;
    }

    public static Command Accounts()
    {
        var command = new Command("account", "Admin accounts (the console's sign-in, and Basic credentials for the API)");
        var name = new Argument<string>("NAME") { Description = "Account name (the first one is 'admin')" };
        var passwordFile = new Option<string?>("--password-file") { Description = "Read the new password from FILE's first line instead of asking for it", HelpName = "FILE" };
        var verb = new Command("password", "Set an account's password (an account that does not exist is made)") { name, passwordFile };
        verb.SetAction((parse, ct) => CliContext.RunLocalAsync(parse, ct, "account password", "a password is set at the server and never crosses the network; run it there as the service's user (sudo -u streamboot streamboot account password NAME)", SiteUse.CreateIfMissing, async (_, site, output) =>
        {
            string? password;
            if (parse.GetValue(passwordFile) is { } file)
            {
                if (!File.Exists(file))
                {
                    return CliOutput.Usage($"--password-file: there is no file '{file}'");
                }

                password = (await File.ReadAllLinesAsync(file, ct)).FirstOrDefault()?.Trim();
            }
            else if (Console.IsInputRedirected)
            {
                password = Console.ReadLine()?.Trim();
            }
            else
            {
                password = Spectre.Console.AnsiConsole.Prompt(Spectre.Console.TextPromptExtensions.Secret(new Spectre.Console.TextPrompt<string>("New password:")));
                var again = Spectre.Console.AnsiConsole.Prompt(Spectre.Console.TextPromptExtensions.Secret(new Spectre.Console.TextPrompt<string>("Again:")));
                if (password != again)
                {
                    return CliOutput.Usage("the two passwords differ; nothing was changed");
                }
            }

            if (string.IsNullOrEmpty(password))
            {
                return CliOutput.Usage("no password given; type it, pipe it in, or use --password-file FILE");
            }

            return output.Result(
                await new AccessAdmin(site).SetPasswordAsync(parse.GetValue(name)!, password, ct),
                account => output.Json ? output.Item(new { account }, []) : VDiskCommands.Done($"Set the password of account {account}"));
        }));
        command.Subcommands.Add(verb);
        return command;
    }

    private static Command CreateVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Token name (who or what uses it: ci, grafana, alice)" };
        var scope = new Option<string>("--scope") { Description = "read: look only; admin: change too", DefaultValueFactory = _ => "read", HelpName = "read|admin" };
        var verb = new Command("create", "Make a token; its secret is printed this once (only a hash of it is kept)") { name, scope };
        verb.SetAction((parse, ct) => CliContext.RunCreatingAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Tokens.CreateTokenAsync(parse.GetValue(name)!, parse.GetValue(scope)!, ct),
                made =>
                {
                    if (output.Json)
                    {
                        return output.Item(made, []);
                    }

                    // The secret alone on stdout, so 'TOKEN=$(streamboot token create ci)' works; the rest to stderr.
                    Console.Out.WriteLine(made.Secret);
                    Console.Error.WriteLine($"Made token {made.Token.Name} ({KebabCase.Of(made.Token.Scope)}). Keep the secret above: it is not shown again. Use it as 'Authorization: Bearer SECRET'.");
                    return ExitCodes.Ok;
                })));
        return verb;
    }

    private static Command ListVerb()
    {
        var verb = new Command("list", "List the tokens (never their secrets)");
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Tokens.ListTokensAsync(ct), tokens => output.List(
                tokens,
                [new("Name", ColumnFit.Whole), "Scope", "Created", "By", "Last used"],
                t => [t.Name, KebabCase.Of(t.Scope), CliOutput.Time(t.CreatedAt), t.CreatedBy, t.LastUsedAt is { } used ? CliOutput.Time(used) : "never"],
                "No tokens. 'streamboot token create NAME --scope read|admin' makes one."))));
        return verb;
    }

    private static Command RevokeVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Token name" };
        var verb = new Command("revoke", "Revoke a token: it stops working at once, on every server of the site") { name };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Tokens.RevokeTokenAsync(parse.GetValue(name)!, ct),
                t => output.Json ? output.Item(t, []) : VDiskCommands.Done($"Revoked token {t.Name}"))));
        return verb;
    }
}
